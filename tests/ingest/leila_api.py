"""The "Maison Leila" store of fixtures/leila_*.csv as the Admin API serves it: the same customers,
orders and line items, written by hand in the shapes of Shopify's GraphQL Admin API (2025-04 and
later: `defaultEmailAddress` / `defaultPhoneNumber`; money as `shopMoney`; line items and
discount applications as nested connections). Served by the fake for the agreement tests."""

from __future__ import annotations


def money(amount: str) -> dict:
    return {"shopMoney": {"amount": amount, "currencyCode": "EUR"}}


def customer(cid: int, first: str, last: str, email: str | None, email_state: str,
             phone: str | None, sms_state: str, city: str, zip_: str, tags: list[str],
             note: str | None = None) -> dict:
    return {
        "id": f"gid://shopify/Customer/{cid}", "firstName": first, "lastName": last,
        "createdAt": "2024-11-02T09:00:00Z", "updatedAt": "2025-04-01T07:00:00Z",
        "tags": tags, "note": note, "taxExempt": False,
        "defaultEmailAddress": ({"emailAddress": email, "marketingState": email_state}
                                if email else None),
        "defaultPhoneNumber": ({"phoneNumber": phone, "marketingState": sms_state}
                               if phone else None),
        "defaultAddress": {"company": None, "city": city, "province": None, "provinceCode": None,
                           "country": "France", "countryCodeV2": "FR", "zip": zip_},
    }


CUSTOMERS = [
    customer(8101, "Léa", "Martin", "lea@example.com", "SUBSCRIBED", "+33612345678",
             "NOT_SUBSCRIBED", "Paris", "75011", ["vip"]),
    customer(8102, "Omar", "Haddad", "omar@example.com", "NOT_SUBSCRIBED", None, "", "Lyon",
             "69002", []),
    customer(8103, "Zoé", "Petit", None, "", "+33698765432", "SUBSCRIBED", "Marseille", "13001",
             ["pos", "local"], "came to the shop"),
]


LEILA, TOTE, TSHIRT, BEANS = 901, 902, 903, 904


def line(lid: int, product: str | None, variant: str, sku: str, qty: int, price: str,
         discount: str, vendor: str, product_type: str, pid: int, vid: int) -> dict:
    tags = {LEILA: ["bestseller", "wool"], TSHIRT: ["limited"], BEANS: ["coffee"]}.get(pid, [])
    return {"__typename": "LineItem", "id": f"gid://shopify/LineItem/{lid}",
            "title": product, "variantTitle": None if variant == "Default Title" else variant,
            "quantity": qty, "sku": sku, "vendor": vendor,
            "product": {"id": f"gid://shopify/Product/{pid}", "title": product,
                        "productType": product_type, "tags": tags},
            "variant": {"id": f"gid://shopify/ProductVariant/{vid}", "title": variant},
            "originalUnitPriceSet": money(price), "totalDiscountSet": money(discount)}


def order(oid: int, name: str, email: str | None, cid: int, at: str, total: str, subtotal: str,
          shipping: str, discounts: str, source: str, codes: list[str], lines: list[dict], *,
          applications: list[dict] = (), fulfillment: str = "FULFILLED", app: str,
          channel: dict | None = None, ship: dict | None = None, tags: list[str] = ()) -> dict:
    return {
        "id": f"gid://shopify/Order/{oid}", "name": name, "email": email, "createdAt": at,
        "processedAt": at, "updatedAt": at, "cancelledAt": None, "test": False,
        "displayFinancialStatus": "PAID", "displayFulfillmentStatus": fulfillment,
        "currencyCode": "EUR", "subtotalPriceSet": money(subtotal),
        "totalDiscountsSet": money(discounts), "totalShippingPriceSet": money(shipping),
        "totalTaxSet": money("0.00"), "totalPriceSet": money(total),
        "totalRefundedSet": money("0.00"), "sourceName": source, "app": {"name": app},
        "channelInformation": channel, "discountCodes": codes, "tags": list(tags),
        "customer": {"id": f"gid://shopify/Customer/{cid}"},
        "shippingAddress": ship, "customerJourneySummary": None,
        "discountApplications": list(applications), "lineItems": lines,
    }


ONLINE = {"app": {"title": "Online Store"},
          "channelDefinition": {"handle": "online_store", "channelName": "Online Store",
                                "subChannelName": "Online Store", "isMarketplace": False}}
POS = {"app": {"title": "Point of Sale"},
       "channelDefinition": {"handle": "pos", "channelName": "Point of Sale",
                             "subChannelName": "Point of Sale", "isMarketplace": False}}
INSTAGRAM = {"app": {"title": "Facebook & Instagram"},
             "channelDefinition": {"handle": "instagram-shopping",
                                   "channelName": "Facebook & Instagram",
                                   "subChannelName": "Instagram Shopping",
                                   "isMarketplace": True}}
PARIS = {"city": "Paris", "provinceCode": None, "countryCodeV2": "FR"}
LYON = {"city": "Lyon", "provinceCode": None, "countryCodeV2": "FR"}

ORDERS = [
    order(6100000001, "#2001", "lea@example.com", 8101, "2025-03-04T09:15:00Z", "91.20",
          "114.00", "5.00", "27.80", "web", ["PIA20", "SECRETSHIP10"],
          [line(1, "Leila Pullover", "Noire / S", "LP-NOIR-S", 1, "89.00", "17.80",
                "Maison Leila", "Knitwear", LEILA, 9011),
           line(2, "Tote Bag", "Default Title", "TOTE-1", 1, "25.00", "5.00", "Maison Leila",
                "Accessories", TOTE, 9021)],
          applications=[{"__typename": "DiscountCodeApplication", "code": "PIA20"},
                        {"__typename": "DiscountCodeApplication", "code": "SECRETSHIP10"}],
          app="Online Store", channel=ONLINE, ship=PARIS),
    order(6100000002, "#2002", "omar@example.com", 8102, "2025-03-10T14:00:00Z", "119.00",
          "129.00", "0.00", "10.00", "pos", [],
          [line(3, "Leila Pullover", "Écru / M", "LP-ECRU-M", 1, "89.00", "6.90",
                "Maison Leila", "Knitwear", LEILA, 9013),
           line(4, "T-Shirt - Édition Limitée", "Default Title", "TS-LTD", 1, "40.00", "3.10",
                "Maison Leila", "Tops", TSHIRT, 9031)],
          applications=[{"__typename": "ManualDiscountApplication",
                         "title": "Custom discount"}],
          app="Point of Sale", channel=POS),
    order(6100000003, "#2003", None, 8103, "2025-03-12T10:30:00Z", "79.00", "79.00", "0.00",
          "0.00", "pos", [],
          [line(5, "Leila Pullover", "Noire / M", "LP-NOIR-M", 1, "79.00", "0.00",
                "Maison Leila", "Knitwear", LEILA, 9012)],
          app="Point of Sale", channel=POS),
    order(6100000004, "#2004", "lea@example.com", 8101, "2025-03-20T17:02:00Z", "22.00",
          "24.00", "4.00", "6.00", "4383523", ["WELCOME10"],
          [line(6, "Coffee Beans", "250 g", "CB-250", 2, "12.00", "6.00", "Torréfaction Nord",
                "Coffee", BEANS, 9041)],
          applications=[{"__typename": "DiscountCodeApplication", "code": "WELCOME10"},
                        {"__typename": "AutomaticDiscountApplication", "title": "Summer sale"}],
          fulfillment="UNFULFILLED", app="Facebook & Instagram", channel=INSTAGRAM, ship=PARIS,
          tags=["instagram"]),
    order(6100000005, "#2005", "omar@example.com", 8102, "2025-04-01T07:00:00Z", "36.00",
          "36.00", "0.00", "0.00", "shopify_draft_order", [],
          [line(7, "Coffee Beans", "1 kg", "CB-1KG", 1, "36.00", "0.00", "Torréfaction Nord",
                "Coffee", BEANS, 9042)],
          app="Draft Orders", channel=None, ship=LYON),
]
