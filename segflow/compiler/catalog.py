"""The field catalog: every name the rule language knows, declared once.

The checker, the compiler, `docs/language.md` and "did you mean" all read this table, so a field
exists exactly when it is declared here. Each field says which level it lives on:

- CUSTOMER: a column of `store.customers` (current value; not historised);
- FACT: a per-customer figure computed from the customer's counted orders as of the evaluation day;
- ORDER: a column of `store.orders`, used through an order scope (`orders.source`) or inside a
  filtered order set (`orders[source = "pos"]`);
- LINE: a column of `store.order_lines`, used like an order field; it matches an order when some
  line item of that order matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from segflow.compiler.types import Type


class Level(Enum):
    CUSTOMER = "customer attribute"
    FACT = "customer fact"
    ORDER = "order attribute"
    LINE = "line item attribute"


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: Type
    level: Level
    column: str  # canonical column (customers / orders / order_lines) or fact column
    doc: str
    example: str
    nullable: bool = True
    # a whole number of days counted back from the evaluation day to the date in `column`
    days_since: bool = False


def _f(name, type_, level, column, doc, example, *, nullable=True, days_since=False):
    return FieldDef(name, type_, level, column, doc, example, nullable, days_since)


C, F, O, L = Level.CUSTOMER, Level.FACT, Level.ORDER, Level.LINE
S, N, I, D, B, SL = Type.STRING, Type.NUMBER, Type.INTEGER, Type.DATE, Type.BOOLEAN, Type.STRING_LIST

FIELDS: tuple[FieldDef, ...] = (
    # --- customer attributes
    _f("email", S, C, "email", "The customer's email address.", 'email contains "@example.com"'),
    _f("first_name", S, C, "first_name", "The customer's first name.", 'first_name = "Ada"'),
    _f("last_name", S, C, "last_name", "The customer's last name.", 'last_name is set'),
    _f("created_date", D, C, "created_at",
       "The day the customer record was created, in the store's time zone.",
       "created_date >= today - 90d"),
    _f("tags", SL, C, "tags",
       "The customer's tags (a list: `=` and `in` match when some tag matches).",
       'tags = "vip"', nullable=False),
    _f("city", S, C, "city", "City of the customer's default address.", 'city = "Toronto"'),
    _f("province", S, C, "province_code",
       "Province or state code of the customer's default address (e.g. `ON`, `CA`).",
       'province in ["ON", "QC"]'),
    _f("country", S, C, "country_code",
       "Country code (ISO 3166-1 alpha-2) of the customer's default address.", 'country = "CA"'),
    _f("accepts_marketing", B, C, "accepts_email_marketing",
       "Whether the customer agreed to receive marketing email.", "accepts_marketing",
       nullable=False),
    _f("accepts_sms_marketing", B, C, "accepts_sms_marketing",
       "Whether the customer agreed to receive marketing SMS.", "accepts_sms_marketing = true",
       nullable=False),
    # --- customer facts (from counted orders up to the evaluation day)
    _f("order_count", I, F, "order_count", "Number of counted orders.", "order_count >= 2",
       nullable=False),
    _f("total_spent", N, F, "total_spent",
       "Sum of the amounts of counted orders (what the customer paid, less refunds).",
       "total_spent >= 500", nullable=False),
    _f("average_order_value", N, F, "average_order_value",
       "total_spent / order_count; not set for a customer with no orders.",
       "average_order_value > 80"),
    _f("first_order_date", D, F, "first_order_at",
       "Day of the customer's first counted order, in the store's time zone.",
       "first_order_date >= 2024-01-01"),
    _f("last_order_date", D, F, "last_order_at",
       "Day of the customer's most recent counted order, in the store's time zone.",
       "last_order_date between 2024-11-01 and 2024-11-30"),
    _f("days_since_first_order", I, F, "first_order_at",
       "Whole days from the first order's day to the evaluation day (0 on the same day).",
       "days_since_first_order <= 30", days_since=True),
    _f("days_since_last_order", I, F, "last_order_at",
       "Whole days from the last order's day to the evaluation day (0 on the same day).",
       "days_since_last_order > 90", days_since=True),
    _f("purchase_interval", N, F, "purchase_interval",
       "Average days between orders: (last order day - first order day) / (order_count - 1); "
       "set only from two orders on.", "purchase_interval <= 45"),
    # --- order attributes
    _f("date", D, O, "placed_at", "The day the order was placed, in the store's time zone.",
       "orders[date >= today - 30d].count >= 1", nullable=False),
    _f("total", N, O, "net_amount",
       "What the customer paid for the order: total price with tax and shipping, after "
       "discounts, less refunds.", "last_order.total >= 100", nullable=False),
    _f("source", S, O, "source",
       "Shopify's source of the order as it is recorded (`web`, `pos`, `shopify_draft_order`, "
       "an app's numeric id or name).",
       'first_order.source = "pos"'),
    _f("channel", S, O, "channel",
       "The sales channel, normalised: `online_store`, `pos`, `social`, `marketplace`, "
       "`draft_order` or `other`.", 'orders.channel = "social"'),
    _f("utm_source", S, O, "utm_source", "`utm_source` of the order's landing page.",
       'first_order.utm_source = "facebook"'),
    _f("utm_medium", S, O, "utm_medium", "`utm_medium` of the order's landing page.",
       'first_order.utm_medium = "cpc"'),
    _f("utm_campaign", S, O, "utm_campaign", "`utm_campaign` of the order's landing page.",
       'orders.utm_campaign = "black_friday"'),
    _f("referrer", S, O, "referring_site", "The site that referred the visit of the order.",
       'first_order.referrer contains "google"'),
    _f("landing_page", S, O, "landing_site", "The landing page of the visit of the order.",
       'first_order.landing_page starts with "/collections/sale"'),
    _f("discount_code", SL, O, "discount_codes",
       "Discount codes used on the order (a list; codes only, never the titles of manual or "
       "automatic discounts).", 'orders.discount_code = "WELCOME10"', nullable=False),
    _f("discount_title", SL, O, "discount_titles",
       "Titles of the order's discounts that are not codes: manual (`Custom discount`), "
       "automatic and script discounts (a list).", 'orders.discount_title = "Summer sale"',
       nullable=False),
    _f("order_tags", SL, O, "tags", "The order's tags (a list).",
       'orders.order_tags = "subscription"', nullable=False),
    _f("shipping_city", S, O, "shipping_city", "City of the shipping address.",
       'last_order.shipping_city = "Montreal"'),
    _f("shipping_province", S, O, "shipping_province",
       "Province or state code of the shipping address.", 'orders.shipping_province = "BC"'),
    _f("shipping_country", S, O, "shipping_country",
       "Country code of the shipping address.", 'orders.shipping_country != "CA"'),
    # --- line item attributes
    _f("product", S, L, "product", "Product title of a line item.",
       'first_order.product = "Coffee Starter Kit"'),
    _f("variant", S, L, "variant", "Variant title of a line item.",
       'orders.variant = "1 kg"'),
    _f("sku", S, L, "sku", "SKU of a line item.", 'orders.sku starts with "BEAN-"'),
    _f("vendor", S, L, "vendor", "Vendor of a line item's product.", 'orders.vendor = "Acme"'),
    _f("product_type", S, L, "product_type", "Product type of a line item's product.",
       'later_orders.product_type = "Refill"'),
    _f("product_tags", SL, L, "product_tags",
       "Tags of a line item's product (a list; from a CSV import only with the products export).",
       'orders.product_tags = "bestseller"', nullable=False),
    _f("quantity", I, L, "quantity", "Quantity of a line item.", "orders.quantity >= 3",
       nullable=False),
    _f("price", N, L, "price", "Unit price of a line item, before discounts.",
       "orders.price >= 100"),
    # --- order position and time between orders (nth; computed among the orders counted on
    # the evaluation day, see order_position.py)
    _f("number", I, O, "customer_order_index",
       "The order's position among the customer's counted orders (1 for the first).",
       'orders[number >= 3 and product = "Coffee Beans Refill"].count >= 1'),
    _f("days_since_previous", I, O, "days_since_previous",
       "Whole days from the customer's previous counted order to this one, by their days in "
       "the store's time zone (0 on the same day); not set on the first order.",
       "second_order.days_since_previous <= 14"),
    _f("days_after_first", I, O, "days_after_first",
       "Whole days from the customer's first counted order to this one, by their days in the "
       "store's time zone (0 for the first order).",
       'later_orders[product = "Coffee Beans Refill" and days_after_first <= 30].count >= 1'),
    # --- what happened to an order (nth)
    _f("financial_status", S, O, "financial_status",
       "Shopify's payment status of the order as last imported (`paid`, `pending`, "
       "`authorized`, `partially_paid`, `partially_refunded`, `refunded`, `voided`, "
       "`expired`); today's value, not the day's.",
       'orders.financial_status = "partially_refunded"'),
    _f("fulfillment_status", S, O, "fulfillment_status",
       "Shopify's fulfillment status of the order as last imported (`fulfilled`, "
       "`unfulfilled`, `partial`, `restocked`); today's value, not the day's.",
       'last_order.fulfillment_status = "unfulfilled"'),
    _f("refunded", N, O, "refunded",
       "Amount refunded on the order by the end of the evaluation day (a refund with a date "
       "counts from that day; one without, from the day the order was placed).",
       "orders[refunded > 0 and date >= today - 90d].count >= 1", nullable=False),
    _f("cancelled", B, O, "cancelled",
       "Whether the order was cancelled by the end of the evaluation day: true for every order "
       "of `cancelled_orders`, false for every counted order.",
       "cancelled_orders[cancelled].count >= 1", nullable=False),
)

CUSTOMER_NAMESPACE = {f.name: f for f in FIELDS if f.level in (Level.CUSTOMER, Level.FACT)}
ORDER_NAMESPACE = {f.name: f for f in FIELDS if f.level in (Level.ORDER, Level.LINE)}


@dataclass(frozen=True)
class ScopeDef:
    name: str
    doc: str
    aggregatable: bool  # admits `scope[condition].count` / `.total`


SCOPES: dict[str, ScopeDef] = {
    s.name: s
    for s in (
        ScopeDef("orders", "Any counted order of the customer up to the evaluation day.", True),
        ScopeDef("first_order", "The customer's first counted order.", False),
        ScopeDef("second_order", "The customer's second counted order.", False),
        ScopeDef("last_order", "The customer's most recent counted order up to the evaluation "
                 "day.", False),
        ScopeDef("later_orders", "Every counted order after the first one (the second order "
                 "onwards).", True),
        # --- order position (nth)
        ScopeDef("previous_order", "The counted order before the last one (the customer's "
                 "second most recent).", False),
        ScopeDef("order(N)", "The customer's Nth counted order, 1-based (`order(1)` is "
                 "`first_order`); matches nothing when the customer has fewer orders.", False),
        # --- what happened to an order (nth)
        ScopeDef("cancelled_orders", "Every order of the customer cancelled by the end of the "
                 "evaluation day (placed by then, not a test); counted orders exclude them.", True),
    )
}

AGGREGATES: dict[str, tuple[Type, str]] = {
    "count": (Type.INTEGER, "Number of orders in the set."),
    "total": (Type.NUMBER, "Sum of the amounts (`total`) of the orders in the set; 0 when empty."),
}

# --- lines: line-item sets and more aggregates of a set (issue 19, items 3 and 4; sets.py)
LINES = "lines"
ORDER_OF_LINE = "order"  # `order.FIELD` inside `lines[...]`: the line's order
SCOPES[LINES] = ScopeDef(
    LINES, "Every line item of the customer's counted orders up to the evaluation day; inside "
    "`lines[...]` a line field is the line's own, an order field (`date`, `order.source`) its "
    "order's.", True)

AGGREGATES.update({
    "quantity": (Type.INTEGER, "`lines` only: units (sum of `quantity`) of the lines in the set; "
                 "0 when empty."),
    "revenue": (Type.NUMBER, "`lines` only: what was paid for the lines in the set, "
                "`price` x `quantity` - line discount (before refunds, which are per order); "
                "0 when empty."),
    "days_since_last": (Type.INTEGER, "Whole days from the day of the set's latest order to the "
                        "evaluation day; not set when empty. Moves with the calendar."),
    "days_since_first": (Type.INTEGER, "Whole days from the day of the set's earliest order to "
                         "the evaluation day; not set when empty. Moves with the calendar."),
    "last_date": (Type.DATE, "Day of the set's latest order; not set when empty."),
    "first_date": (Type.DATE, "Day of the set's earliest order; not set when empty."),
    "average": (Type.NUMBER, "Mean amount: of the orders' `total` (order sets) or of the lines' "
                "revenue (`lines`); not set when empty."),
    "max": (Type.NUMBER, "Largest amount: an order's `total` (order sets) or a line's revenue "
            "(`lines`); not set when empty."),
    "distinct": (Type.INTEGER, "`.distinct(FIELD)`: number of distinct values of an order or line "
                 "field (a date field counts days) over the set, unset values left out; 0 when "
                 "empty."),
})
LINE_ONLY_AGGREGATES = frozenset({"quantity", "revenue"})
ORDER_ONLY_AGGREGATES = frozenset({"total"})
DAY_AGGREGATES = frozenset({"days_since_last", "days_since_first", "last_date", "first_date"})
FIELD_AGGREGATES = frozenset({"distinct"})  # written `.func(FIELD)`
