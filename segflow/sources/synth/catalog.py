"""What the synthetic store sells, where its customers live, and how they find it.

Everything here is static data; the behaviour model (model.py) draws from it. Values never
contain tabs, newlines, backslashes, commas inside array elements or double quotes, so the
writers can emit them without escaping.
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENCY = "USD"
STORE_DOMAIN = "northbound-coffee.com"
CUSTOMER_ID_BASE = 6_200_000_000_000
ORDER_ID_BASE = 5_100_000_000_000
PRODUCT_ID_BASE = 8_300_000_000_000
VARIANT_ID_BASE = 44_100_000_000_000
FIRST_ORDER_NUMBER = 1001


@dataclass(frozen=True)
class Product:
    key: str
    title: str
    sku: str
    vendor: str
    product_type: str
    price: int  # cents
    requires_shipping: bool = True
    taxable: bool = True
    seasonal: str | None = None  # "holiday" (Nov-Dec) or "autumn" (Sep-Nov)

    @property
    def index(self) -> int:
        return KEYS.index(self.key)


# Single-variant products: the export's "Lineitem name" is then exactly the product title.
PRODUCTS: tuple[Product, ...] = (
    Product("starter", "Coffee Starter Kit", "NB-KIT-START", "Northbound Roasters", "Coffee Kit", 4900),
    Product("refill", "Coffee Beans Refill", "NB-BEAN-REFILL", "Northbound Roasters", "Coffee Beans", 1800),
    Product("espresso", "Espresso Blend", "NB-BEAN-ESP", "Northbound Roasters", "Coffee Beans", 2100),
    Product("decaf", "Decaf Beans", "NB-BEAN-DECAF", "Northbound Roasters", "Coffee Beans", 1900),
    Product("ethiopia", "Single Origin Ethiopia", "NB-BEAN-ETH", "Northbound Roasters", "Coffee Beans", 2400),
    Product("coldbrew", "Cold Brew Pack", "NB-CB-PACK", "Northbound Roasters", "Cold Brew", 1600),
    Product("mug", "Ceramic Mug", "CW-MUG-12", "Clayworks Studio", "Drinkware", 1400),
    Product("tumbler", "Travel Tumbler", "CW-TUMB-16", "Clayworks Studio", "Drinkware", 2900),
    Product("pourover", "Pour Over Kit", "DC-POUR-KIT", "Drip & Co", "Brewing Equipment", 3900),
    Product("grinder", "Burr Grinder", "DC-GRIND-BURR", "Drip & Co", "Brewing Equipment", 8900),
    Product("press", "French Press", "DC-PRESS-8", "Drip & Co", "Brewing Equipment", 3400),
    Product("filters", "Paper Filters", "DC-FILT-100", "Drip & Co", "Accessories", 600),
    Product("tea", "Tea Sampler", "LK-TEA-SAMP", "Leaf & Kettle", "Tea", 2200),
    Product("giftcard", "Gift Card", "GIFT-CARD-50", "Northbound Roasters", "Gift Card", 5000,
            requires_shipping=False, taxable=False),
    Product("holiday", "Holiday Blend", "NB-BEAN-HOLI", "Northbound Roasters", "Coffee Beans", 2300,
            seasonal="holiday"),
    Product("advent", "Advent Coffee Calendar", "NB-ADVENT", "Northbound Roasters", "Coffee Kit", 5900,
            seasonal="holiday"),
    Product("pumpkin", "Pumpkin Spice Blend", "NB-BEAN-PUMP", "Northbound Roasters", "Coffee Beans", 2200,
            seasonal="autumn"),
)
KEYS = [p.key for p in PRODUCTS]
P = {p.key: i for i, p in enumerate(PRODUCTS)}
BEANS = ("refill", "espresso", "decaf", "ethiopia", "coldbrew", "holiday", "pumpkin")

# What a first order is built around (weights), and, by that first product, what later
# orders are built around: Starter Kit buyers mostly come back for Beans Refill.
FIRST_PRODUCT = {
    "starter": 24, "espresso": 14, "refill": 6, "decaf": 6, "ethiopia": 6, "coldbrew": 7,
    "mug": 7, "tumbler": 4, "pourover": 7, "grinder": 4, "press": 4, "tea": 5, "giftcard": 3,
}
_LATER_DEFAULT = {
    "refill": 10, "espresso": 22, "decaf": 8, "ethiopia": 12, "coldbrew": 9, "mug": 5,
    "tumbler": 3, "pourover": 4, "grinder": 3, "press": 2, "filters": 8, "tea": 6, "giftcard": 3,
}
LATER_PRODUCT: dict[str, dict[str, int]] = {
    key: dict(_LATER_DEFAULT) for key in FIRST_PRODUCT
}
LATER_PRODUCT["starter"] |= {"refill": 70, "espresso": 10, "filters": 10}
LATER_PRODUCT["pourover"] |= {"filters": 25, "ethiopia": 20}
LATER_PRODUCT["grinder"] |= {"espresso": 35, "ethiopia": 20}
LATER_PRODUCT["tea"] |= {"tea": 40, "mug": 10}
LATER_PRODUCT["decaf"] |= {"decaf": 45}
LATER_PRODUCT["coldbrew"] |= {"coldbrew": 35}
LATER_PRODUCT["refill"] |= {"refill": 45}
# Add-ons put in the basket next to the main item.
ADDONS = {"mug": 20, "filters": 22, "espresso": 12, "refill": 8, "tumbler": 8, "tea": 6,
          "coldbrew": 8, "decaf": 4, "press": 3, "giftcard": 2}

# Channels: Shopify `source_name` -> normalised channel.
CHANNEL_OF_SOURCE = {
    "web": "online_store",
    "pos": "pos",
    "shopify_draft_order": "draft_order",
    "facebook": "social",
    "instagram": "social",
    "amazon": "marketplace",
}
SOURCE_WEIGHTS = {"web": 720, "pos": 90, "shopify_draft_order": 25, "facebook": 40,
                  "instagram": 55, "amazon": 70}

# UTM parameters on a share of web orders: (utm_source, utm_medium, referring site).
UTM_SOURCES = {
    "facebook": ("paid_social", "https://l.facebook.com/", 28),
    "instagram": ("social", "https://l.instagram.com/", 24),
    "tiktok": ("paid_social", "https://www.tiktok.com/", 12),
    "google": ("cpc", "https://www.google.com/", 22),
    "newsletter": ("email", "", 20),
}
# Campaigns running all year, and seasonal ones (see model.py for the windows).
EVERGREEN_CAMPAIGNS = ("brand_awareness", "retargeting", "coffee_lovers")
NEWSLETTER_CAMPAIGNS = ("weekly_digest", "new_arrivals")
SEASONAL_CAMPAIGNS = ("black_friday", "holiday_gift_guide", "spring_sale", "summer_cold_brew")
ORGANIC_REFERRERS = ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
                     "https://www.reddit.com/", "")
LANDING_PAGES = ("/", "/collections/coffee", "/products/coffee-starter-kit",
                 "/products/coffee-beans-refill", "/collections/brewing-equipment", "/pages/about")

DISCOUNT_CODES = {
    "WELCOME10": 10,   # first orders
    "BFCM25": 25,      # Black Friday to Cyber Monday
    "SPRING15": 15,    # spring sale
    "LOYAL20": 20,     # vip customers
    "SAVE10": 10,      # influencer code, anytime
    "TIKTOK15": 15,    # tiktok campaigns
    "HOLIDAY15": 15,   # December
}

CUSTOMER_TAGS = ("vip", "wholesale", "newsletter", "subscriber", "local", "reviewer")
ORDER_TAGS = ("subscription", "gift", "wholesale", "local-pickup", "replacement", "test")

FIRST_NAMES = ["Emma", "Olivia", "Liam", "Noah", "Ava", "Sophia", "Lucas", "Mia", "Ethan", "Chloe", "Jacob", "Charlotte", "William", "Amelia", "Benjamin", "Zoe", "Nathan", "Lily", "Samuel", "Grace", "Alexandre", "Camille", "Gabriel", "Léa", "Félix", "Juliette", "Thomas", "Maya", "Daniel", "Hannah", "Owen", "Isabella", "Leo", "Nora", "Jack", "Ella", "Henry", "Aria", "James", "Sofia", "Logan", "Layla", "Mason", "Priya", "Arjun", "Mei", "Wei", "Aiden", "Fatima", "Omar", "Yuki", "Diego", "Lucía", "Mateo", "Ana", "Kai", "Sarah", "Michael", "Jessica", "David", "Emily"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Lee", "Harris", "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Campbell", "MacDonald", "Stewart", "Robertson", "Murray", "Singh", "Patel", "Chen", "Wang", "Li", "Nguyen", "Kim", "Park", "Santos", "Rossi", "Novak", "Kowalski", "Murphy", "O'Brien"]
EMAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com",
                 "icloud.com", "proton.me", "shaw.ca", "videotron.ca", "aol.com", "example.com")
COMPANIES = ("Bean There Café", "Morning Ritual Co", "Daily Grind Diner", "Harbour Bakery",
             "Maple Leaf Offices", "Corner Book Shop", "Summit Coworking", "Riverside Deli")
CUSTOMER_NOTES = ("Prefers whole bean", "Leave parcel at the side door", "Gift wrap please",
                  "Met at the Toronto Coffee Festival", "Wholesale account since launch")
POS_LOCATIONS = ("Flagship Café", "Market Kiosk")
POS_STAFF = ("Alex Martin", "Jordan Lee", "Sam Tremblay")

# (city, province code, province name, country code, country name, zip, phone area, tax bp,
# tax name, weight)
GEO: tuple[tuple, ...] = (
    ("Toronto", "ON", "Ontario", "CA", "Canada", "M5V 2T6", "416", 1300, "HST", 120),
    ("Ottawa", "ON", "Ontario", "CA", "Canada", "K1P 5J2", "613", 1300, "HST", 35),
    ("Hamilton", "ON", "Ontario", "CA", "Canada", "L8P 4R5", "905", 1300, "HST", 18),
    ("Montreal", "QC", "Quebec", "CA", "Canada", "H2X 1Y4", "514", 1498, "GST + QST", 60),
    ("Quebec City", "QC", "Quebec", "CA", "Canada", "G1R 4P5", "418", 1498, "GST + QST", 15),
    ("Vancouver", "BC", "British Columbia", "CA", "Canada", "V6B 1A1", "604", 1200, "GST + PST", 50),
    ("Victoria", "BC", "British Columbia", "CA", "Canada", "V8W 1P6", "250", 1200, "GST + PST", 10),
    ("Calgary", "AB", "Alberta", "CA", "Canada", "T2P 1J9", "403", 500, "GST", 28),
    ("Edmonton", "AB", "Alberta", "CA", "Canada", "T5J 0N3", "780", 500, "GST", 20),
    ("Winnipeg", "MB", "Manitoba", "CA", "Canada", "R3C 0V8", "204", 1200, "GST + PST", 12),
    ("Halifax", "NS", "Nova Scotia", "CA", "Canada", "B3J 1S9", "902", 1500, "HST", 10),
    ("Saskatoon", "SK", "Saskatchewan", "CA", "Canada", "S7K 1J5", "306", 1100, "GST + PST", 7),
    ("Moncton", "NB", "New Brunswick", "CA", "Canada", "E1C 4M6", "506", 1500, "HST", 4),
    ("St. John's", "NL", "Newfoundland and Labrador", "CA", "Canada", "A1C 5M2", "709", 1500, "HST", 3),
    ("Charlottetown", "PE", "Prince Edward Island", "CA", "Canada", "C1A 4P3", "902", 1500, "HST", 2),
    ("New York", "NY", "New York", "US", "United States", "10001", "212", 888, "NY State Tax", 70),
    ("Brooklyn", "NY", "New York", "US", "United States", "11201", "718", 888, "NY State Tax", 25),
    ("Los Angeles", "CA", "California", "US", "United States", "90012", "213", 950, "CA State Tax", 50),
    ("San Francisco", "CA", "California", "US", "United States", "94103", "415", 863, "CA State Tax", 30),
    ("Seattle", "WA", "Washington", "US", "United States", "98101", "206", 1025, "WA State Tax", 30),
    ("Portland", "OR", "Oregon", "US", "United States", "97205", "503", 0, "OR State Tax", 18),
    ("Chicago", "IL", "Illinois", "US", "United States", "60601", "312", 1025, "IL State Tax", 35),
    ("Austin", "TX", "Texas", "US", "United States", "78701", "512", 825, "TX State Tax", 22),
    ("Houston", "TX", "Texas", "US", "United States", "77002", "713", 825, "TX State Tax", 20),
    ("Miami", "FL", "Florida", "US", "United States", "33130", "305", 700, "FL State Tax", 18),
    ("Boston", "MA", "Massachusetts", "US", "United States", "02108", "617", 625, "MA State Tax", 22),
    ("Denver", "CO", "Colorado", "US", "United States", "80202", "303", 881, "CO State Tax", 16),
    ("Philadelphia", "PA", "Pennsylvania", "US", "United States", "19103", "215", 800, "PA State Tax", 16),
    ("Atlanta", "GA", "Georgia", "US", "United States", "30303", "404", 890, "GA State Tax", 14),
    ("Minneapolis", "MN", "Minnesota", "US", "United States", "55401", "612", 903, "MN State Tax", 10),
    ("Burlington", "VT", "Vermont", "US", "United States", "05401", "802", 700, "VT State Tax", 5),
    ("London", "", "", "GB", "United Kingdom", "EC1A 1BB", "", 0, "", 8),
    ("Sydney", "NSW", "New South Wales", "AU", "Australia", "2000", "", 0, "", 4),
    ("Berlin", "", "", "DE", "Germany", "10115", "", 0, "", 4),
)
