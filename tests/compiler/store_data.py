"""A small hand-built store with the edge cases the compiler must get right.

Evaluated as of 2025-03-15 in America/Toronto (EDT, UTC-4, since 2025-03-09). Each customer is
there for a reason, written beside it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg

from segflow.compiler.query import render
from segflow.compiler.tables import canonical_ddl, refresh_order_index

TZ = "America/Toronto"
AS_OF = dt.date(2025, 3, 15)


def ts(text: str) -> dt.datetime:
    """A local time in the store's zone."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ))


# id, email, created, tags, province, country, city, accepts_marketing
CUSTOMERS = [
    (1, "ada@example.com", "2024-01-01 12:00", ["vip"], "ON", "CA", "Toronto", True),  # no orders
    (2, "bob@example.com", "2024-02-01 12:00", [], "QC", "CA", "Montreal", False),  # one order
    (3, "cy@example.com", "2024-03-01 12:00", [], "BC", "CA", "Vancouver", True),  # kit, then beans
    (4, "dee@example.com", "2024-04-01 12:00", ["vip", "loyal"], "ON", "CA", "Ottawa", True),  # 5
    (5, "eve@example.com", "2024-05-01 12:00", [], "NY", "US", "New York", False),  # same day x2
    (6, "fay@example.com", "2024-06-01 12:00", [], "ON", "CA", None, False),  # cancelled only
    (7, "gus@example.com", "2024-07-01 12:00", [], None, None, None, False),  # a $0 order
    (8, "hal@example.com", "2024-01-15 12:00", [], "ON", "CA", "Toronto", True),  # one after as-of
    (9, "ivy@example.com", "2024-08-01 12:00", ["wholesale", "VIP Gold"], "QC", "CA", "Quebec",
     True),  # refund
    (10, "jon@example.com", "2024-09-01 12:00", [], "ON", "CA", None, False),  # test order only
    (11, "kim@example.com", "2025-04-01 12:00", [], "ON", "CA", None, True),  # created later
    (12, "lou@example.com", "2024-10-01 12:00", [], "ON", "CA", None, False),  # 23:59:59 on as-of
    (13, "max@example.com", "2024-10-02 12:00", [], "ON", "CA", None, False),  # 00:00 next day
    (14, "o'neil@example.com", "2024-11-01 12:00", [], None, None, None, False),  # quote in email
]

KIT = ("Coffee Starter Kit", "KIT-1", "Bean & Co", "Kit")
BEANS = ("Coffee Beans Refill", "BEAN-1", "Bean & Co", "Refill")
ESPRESSO = ("Espresso Blend", "ESP-1", "Bean & Co", "Beans")
MUG = ("Ceramic Mug", "MUG-1", "Potters", "Merch")
GIFT = ("Gift Card", "GIFT", "Gift", "Gift Card")
GRINDER = ("Grinder", "GRD-1", "Grindco", "Equipment")
COLD = ("Cold Brew Pack", "CB-1", "Bean & Co", "Beans")


def order(order_id, customer, placed, total, lines, *, refunded="0", cancelled=False, test=False,
          source="web", channel="online_store", utm_source=None, utm_campaign=None,
          discount_codes=(), tags=(), shipping_province=None):
    return dict(
        order_id=order_id, customer_id=customer, placed_at=ts(placed), total_price=Decimal(total),
        refunded_amount=Decimal(refunded), cancelled_at=ts(placed) if cancelled else None,
        is_test=test, source=source, channel=channel, utm_source=utm_source,
        utm_campaign=utm_campaign, discount_codes=list(discount_codes), tags=list(tags),
        shipping_province=shipping_province, lines=lines,
    )


ORDERS = [
    order(101, 2, "2025-03-01 10:00", "50.00", [(KIT, 1, "50.00")], utm_source="facebook",
          utm_campaign="spring"),
    order(102, 3, "2024-12-01 12:00", "50.00", [(KIT, 1, "50.00")], utm_source="google",
          discount_codes=["WELCOME10"], tags=["subscription"]),
    order(103, 3, "2025-02-01 12:00", "30.00", [(BEANS, 2, "15.00")], source="pos", channel="pos"),
    order(104, 4, "2024-06-01 12:00", "20.00", [(ESPRESSO, 1, "20.00")]),
    order(105, 4, "2024-08-01 12:00", "20.00", [(ESPRESSO, 1, "20.00")]),
    order(106, 4, "2024-10-01 12:00", "20.00", [(ESPRESSO, 1, "20.00")]),
    order(107, 4, "2024-12-01 12:00", "20.00", [(ESPRESSO, 1, "20.00")]),
    order(108, 4, "2025-03-15 23:30", "20.00", [(ESPRESSO, 1, "10.00"), (MUG, 1, "10.00")],
          utm_source="instagram"),
    order(109, 5, "2025-03-10 09:00", "25.00", [(MUG, 1, "25.00")], source="pos", channel="pos"),
    order(110, 5, "2025-03-10 15:00", "30.00", [(BEANS, 2, "15.00")]),
    order(111, 6, "2025-01-01 12:00", "40.00", [(KIT, 1, "40.00")], cancelled=True),
    order(112, 7, "2025-02-15 12:00", "0.00", [(GIFT, 1, "0.00")], source="shopify_draft_order",
          channel="draft_order"),
    order(113, 8, "2024-03-01 12:00", "80.00", [(GRINDER, 1, "80.00")]),
    order(114, 8, "2025-03-16 00:30", "15.00", [(BEANS, 1, "15.00")]),
    order(115, 9, "2025-01-10 12:00", "100.00", [(ESPRESSO, 4, "25.00")], refunded="40.00",
          shipping_province="QC"),
    order(116, 10, "2025-02-01 12:00", "60.00", [(KIT, 1, "60.00")], test=True),
    order(117, 12, "2025-03-15 23:59:59", "45.00", [(COLD, 1, "45.00")]),
    order(118, 13, "2025-03-16 00:00:00", "45.00", [(COLD, 1, "45.00")]),
    order(119, None, "2025-03-01 12:00", "10.00", [(MUG, 1, "10.00")]),
]

LIST_MEMBERS = [("wholesale", 9), ("wholesale", 1)]


def load(conn: psycopg.Connection) -> None:
    """Create the canonical tables and load the store."""
    conn.execute(canonical_ddl())
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO store.customers (customer_id, email, created_at, tags, province_code,"
            " country_code, city, accepts_email_marketing) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            [(c[0], c[1], ts(c[2]), c[3], c[4], c[5], c[6], c[7]) for c in CUSTOMERS],
        )
        for o in ORDERS:
            lines = o.pop("lines")
            cols = list(o)
            cur.execute(
                f"INSERT INTO store.orders ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                list(o.values()),
            )
            o["lines"] = lines
            cur.executemany(
                "INSERT INTO store.order_lines (order_id, line_no, product, sku, vendor,"
                " product_type, quantity, price) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                [(o["order_id"], n, *item, qty, Decimal(price))
                 for n, (item, qty, price) in enumerate(lines, start=1)],
            )
        cur.executemany("INSERT INTO store.list_members VALUES (%s, %s)", LIST_MEMBERS)
    conn.execute(render(refresh_order_index(), pretty=False))
