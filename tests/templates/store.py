"""A small deterministic store for the template tests (evaluated as of 2025-03-15, UTC).

Generated from a fixed seed; it covers the products, sources / channels, UTM sources and
campaigns, discount codes, customer and order tags, provinces and countries the templates read.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg

from segflow.compiler.query import render
from segflow.compiler.tables import canonical_ddl, refresh_order_index

TZ = "UTC"
AS_OF = dt.date(2025, 3, 15)

PRODUCTS = {  # title: unit price
    "Coffee Starter Kit": "49.00", "Coffee Beans Refill": "18.00", "Espresso Blend": "21.00",
    "Decaf Beans": "19.00", "Cold Brew Pack": "24.00", "Ceramic Mug": "15.00",
    "Pour Over Kit": "39.00", "Burr Grinder": "129.00", "Tea Sampler": "22.00",
    "Gift Card": "50.00",
}
CHANNELS = [("web", "online_store")] * 5 + [("pos", "pos"), ("shopify_draft_order", "draft_order"),
                                            ("facebook", "social"), ("instagram", "social"),
                                            ("amazon", "marketplace")]
UTM_SOURCES = ["facebook", "instagram", "tiktok", "google", "newsletter"]
CAMPAIGNS = ["black_friday", "spring_sale"]
PLACES = [("ON", "CA"), ("ON", "CA"), ("QC", "CA"), ("BC", "CA"), ("CA", "US"), ("NY", "US")]
CUSTOMER_TAGS = ["vip", "wholesale", "newsletter"]


@dataclass
class Order:
    order_id: int
    customer_id: int | None
    placed_at: dt.datetime
    total_price: Decimal
    source: str
    channel: str
    utm_source: str | None
    utm_campaign: str | None
    referring_site: str | None
    discount_codes: list[str]
    tags: list[str]
    shipping_province: str | None
    lines: list[tuple[str, int, Decimal]]
    cancelled: bool = False
    is_test: bool = False

    @property
    def counted(self) -> bool:
        return self.customer_id is not None and not self.cancelled and not self.is_test


@dataclass
class Customer:
    customer_id: int
    email: str
    created_at: dt.datetime
    tags: list[str]
    province: str | None
    country: str | None
    accepts_marketing: bool
    accepts_sms: bool
    orders: list[Order] = field(default_factory=list)


def _at(days_ago: int, hour: int) -> dt.datetime:
    day = AS_OF - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def generate(n_customers: int = 80, seed: int = 7) -> tuple[list[Customer], list[Order]]:
    rng = random.Random(seed)
    customers, orders = [], []
    oid = 1000
    for cid in range(1, n_customers + 1):
        province, country = rng.choice(PLACES)
        if cid % 17 == 0:
            province, country = None, None
        tags = sorted(t for t in CUSTOMER_TAGS if rng.random() < 0.25)
        c = Customer(cid, f"c{cid}@example.com", _at(500 - cid, 9), tags, province, country,
                     rng.random() < 0.6, rng.random() < 0.3)
        customers.append(c)
        # order count: 0, 1, 2-4, 5-8 in turn (so each lifecycle stage is populated)
        n = [0, 1, 1, rng.randint(2, 4), rng.randint(5, 8)][cid % 5]
        days = sorted(rng.sample(range(0, 420), n), reverse=True)
        for k, days_ago in enumerate(days):
            oid += 1
            source, channel = rng.choice(CHANNELS)
            if k == 0:
                first = rng.choice(["Coffee Starter Kit"] * 3 + ["Espresso Blend", "Gift Card",
                                                                  "Tea Sampler"])
                items = [first]
            else:
                items = [rng.choice(["Coffee Beans Refill"] * 3 + list(PRODUCTS))]
            if rng.random() < 0.3:
                items.append(rng.choice(list(PRODUCTS)))
            if cid % 40 == 0 and k == len(days) - 1:
                items = ["Cold Brew Pack"]
            lines = []
            for item in dict.fromkeys(items):
                qty = 4 if rng.random() < 0.08 else rng.randint(1, 2)
                lines.append((item, qty, Decimal(PRODUCTS[item])))
            total = sum(q * p for _, q, p in lines) + Decimal("5.00")
            utm = rng.choice([*UTM_SOURCES, None, None])
            campaign = rng.choice([*CAMPAIGNS, None, None, None]) if utm else None
            codes = [rng.choice(["WELCOME10"] if k == 0 else ["BFCM25", "WELCOME10"])] \
                if rng.random() < 0.35 else []
            otags = sorted(t for t in ("subscription", "gift") if rng.random() < 0.2)
            o = Order(oid, cid, _at(days_ago, 8 + rng.randint(0, 12)), total, source, channel,
                      utm, campaign, "https://www.google.com/" if utm == "google" else None,
                      codes, otags, province if rng.random() < 0.9 else "BC", lines)
            if rng.random() < 0.05:
                o.cancelled = True
            elif rng.random() < 0.03:
                o.is_test = True
            c.orders.append(o)
            orders.append(o)
    # a guest order (no customer): never counted
    orders.append(Order(9999, None, _at(3, 10), Decimal("15.00"), "web", "online_store", None,
                        None, None, [], [], "ON", [("Ceramic Mug", 1, Decimal("15.00"))]))
    # two recent orders with an equipment product
    for cid, days_ago in ((2, 5), (7, 9)):
        o = Order(9000 + cid, cid, _at(days_ago, 12), Decimal("35.00"), "web", "online_store",
                  "instagram", "spring_sale", None, [], [], "ON",
                  [("Pour Over Kit", 1, Decimal("30.00"))])
        customers[cid - 1].orders.append(o)
        orders.append(o)
    for c in customers:
        c.orders.sort(key=lambda o: (o.placed_at, o.order_id))
    return customers, orders


CUSTOMERS, ORDERS = generate()


def load(conn: psycopg.Connection) -> None:
    conn.execute(canonical_ddl())
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO store.customers (customer_id, email, created_at, tags, province_code,"
            " country_code, accepts_email_marketing, accepts_sms_marketing)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            [(c.customer_id, c.email, c.created_at, c.tags, c.province, c.country,
              c.accepts_marketing, c.accepts_sms) for c in CUSTOMERS],
        )
        cur.executemany(
            "INSERT INTO store.orders (order_id, customer_id, placed_at, total_price, source,"
            " channel, utm_source, utm_campaign, referring_site, discount_codes, tags,"
            " shipping_province, shipping_country, cancelled_at, is_test)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            [(o.order_id, o.customer_id, o.placed_at, o.total_price, o.source, o.channel,
              o.utm_source, o.utm_campaign, o.referring_site, o.discount_codes, o.tags,
              o.shipping_province, "CA", o.placed_at if o.cancelled else None, o.is_test)
             for o in ORDERS],
        )
        cur.executemany(
            "INSERT INTO store.order_lines (order_id, line_no, product, quantity, price)"
            " VALUES (%s,%s,%s,%s,%s)",
            [(o.order_id, n, product, qty, price)
             for o in ORDERS for n, (product, qty, price) in enumerate(o.lines, start=1)],
        )
    conn.execute(render(refresh_order_index(), pretty=False))
