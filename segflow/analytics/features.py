"""Features of a segment: what its members buy, where their orders come from, what they buy first.

Each list ranks values (a product, a channel, a UTM campaign...) by how many members have at
least one counted order, placed by the end of the day, carrying that value, and compares that
share with the same share among all the store's customers on that day (the lift).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import psycopg

from segflow.analytics import membership
from segflow.analytics.membership import MEMBERS_ON
from segflow.analytics.orders import COUNTED, day_bounds
from segflow.errors import SegflowError

# list name -> the distinct (customer_id, order_id, value) rows it ranks, from `counted` (the
# counted orders placed by the end of the day). A NULL value (no UTM campaign...) is not listed.
LISTS: dict[str, str] = {
    "products": "SELECT DISTINCT c.customer_id, c.order_id, l.product FROM counted AS c"
                " JOIN store.order_lines AS l ON l.order_id = c.order_id",
    "first_products": "SELECT DISTINCT c.customer_id, c.order_id, l.product FROM counted AS c"
                      " JOIN store.order_lines AS l ON l.order_id = c.order_id"
                      " WHERE c.customer_order_index = 1",
    "channels": "SELECT customer_id, order_id, channel FROM counted",
    "utm_sources": "SELECT customer_id, order_id, utm_source FROM counted",
    "utm_campaigns": "SELECT customer_id, order_id, utm_campaign FROM counted",
}

# The store's customers at the end of the day: as in the customer facts, created by then (or
# with no creation date) or with a counted order by then.
POPULATION = f"""
SELECT c.customer_id FROM store.customers AS c
WHERE c.created_at IS NULL OR c.created_at < %(end_at)s
   OR EXISTS (SELECT 1 FROM store.orders AS o
              WHERE o.customer_id = c.customer_id AND {COUNTED} AND o.placed_at < %(end_at)s)
"""

_FEATURES = """
WITH members AS ({members_on}),
population AS ({population}),
counted AS (
    SELECT o.customer_id, o.order_id, o.channel, o.utm_source, o.utm_campaign,
           o.customer_order_index
    FROM store.orders AS o
    WHERE {counted} AND o.placed_at < %(end_at)s
),
tagged (list, customer_id, order_id, value) AS ({tagged}),
per_customer AS (
    SELECT list, value, customer_id, count(*) AS orders
    FROM tagged WHERE value IS NOT NULL GROUP BY list, value, customer_id
),
ranked AS (
    SELECT t.list, t.value, count(m.customer_id) AS members,
           coalesce(sum(t.orders) FILTER (WHERE m.customer_id IS NOT NULL), 0)::bigint AS orders,
           count(*) AS customers
    FROM per_customer AS t
    JOIN population AS p ON p.customer_id = t.customer_id
    LEFT JOIN members AS m ON m.customer_id = t.customer_id
    GROUP BY t.list, t.value
)
SELECT list, value, members, orders, customers
FROM (
    SELECT r.*, row_number() OVER (PARTITION BY list
                                   ORDER BY members DESC, orders DESC,
                                            value COLLATE "C") AS rank
    FROM ranked AS r WHERE members > 0
) AS top
WHERE rank <= %(top)s
ORDER BY list, rank
"""


@dataclass(frozen=True)
class Feature:
    value: str
    members: int  # members with at least one counted order carrying the value
    member_share: float  # members / segment size
    orders: int  # members' counted orders carrying the value
    customers: int  # all customers (members or not) with such an order
    customer_share: float  # customers / all customers on the day
    lift: float | None  # member_share / customer_share

    def as_dict(self) -> dict:
        return {"value": self.value, "members": self.members,
                "member_share": round(self.member_share, 6), "orders": self.orders,
                "customers": self.customers, "customer_share": round(self.customer_share, 6),
                "lift": None if self.lift is None else round(self.lift, 6)}


@dataclass(frozen=True)
class FeaturesReport:
    segment: str
    day: dt.date
    members: int
    customers: int  # all customers of the store on the day
    lists: dict[str, list[Feature]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"segment": self.segment, "day": self.day.isoformat(), "members": self.members,
                "customers": self.customers,
                "lists": {name: [f.as_dict() for f in rows] for name, rows in self.lists.items()}}


@membership.read_consistently
def features_report(conn: psycopg.Connection, segment_id: str, *, day: dt.date | None = None,
                    top: int = 10, timezone: str = "UTC") -> FeaturesReport:
    """The top `top` values of each list for the members at the end of `day` (default: the last
    recorded day), from their counted orders placed by then."""
    if top < 1:
        raise SegflowError(f"--top must be at least 1 (got {top})")
    (seg,) = membership.resolve_segments(conn, [segment_id])
    day = day or membership.last_recorded_day(conn)
    membership.require_history(conn, [seg], day)
    tagged = " UNION ALL ".join(
        f"SELECT '{name}', customer_id, order_id, value FROM ({query}) AS x(customer_id,"
        " order_id, value)" for name, query in LISTS.items())
    sql = _FEATURES.format(members_on=MEMBERS_ON, population=POPULATION, counted=COUNTED,
                           tagged=tagged)
    params = {"ords": [seg.ordinal], "until": day, "top": top, **day_bounds(day, day, timezone)}
    rows = conn.execute(sql, params).fetchall()
    members = membership.member_counts(conn, [seg], day)[seg.id]
    row = conn.execute(f"SELECT count(*) FROM ({POPULATION}) AS p", params).fetchone()
    customers = row[0] if row else 0
    lists: dict[str, list[Feature]] = {name: [] for name in LISTS}
    for name, value, n_members, orders, n_customers in rows:
        member_share = n_members / members
        customer_share = n_customers / customers
        lists[name].append(Feature(value, n_members, member_share, orders, n_customers,
                                   customer_share, member_share / customer_share))
    return FeaturesReport(seg.id, day, members, customers, lists)



# Every segment's lists in one statement (`seg report`): the orders and lines are read once for
# all of them instead of once a segment; each segment's rows are as `_FEATURES` gives them.
_FEATURES_MANY = """
WITH members AS ({members_on}),
population AS ({population}),
counted AS (
    SELECT o.customer_id, o.order_id, o.channel, o.utm_source, o.utm_campaign,
           o.customer_order_index
    FROM store.orders AS o
    WHERE {counted} AND o.placed_at < %(end_at)s
),
tagged (list, customer_id, order_id, value) AS ({tagged}),
per_customer AS MATERIALIZED (
    SELECT t.list, t.value, t.customer_id, count(*) AS orders
    FROM tagged AS t JOIN population AS p ON p.customer_id = t.customer_id
    WHERE t.value IS NOT NULL GROUP BY t.list, t.value, t.customer_id
),
everyone AS (
    SELECT list, value, count(*) AS customers FROM per_customer GROUP BY list, value
),
ranked AS (
    SELECT m.segment_ord, t.list, t.value, count(*) AS members, sum(t.orders)::bigint AS orders
    FROM per_customer AS t JOIN members AS m ON m.customer_id = t.customer_id
    GROUP BY m.segment_ord, t.list, t.value
)
SELECT segment_ord, list, value, members, orders, customers
FROM (
    SELECT r.*, e.customers,
           row_number() OVER (PARTITION BY r.segment_ord, r.list
                              ORDER BY r.members DESC, r.orders DESC,
                                       r.value COLLATE "C") AS rank
    FROM ranked AS r JOIN everyone AS e USING (list, value)
) AS top
WHERE rank <= %(top)s
ORDER BY segment_ord, list, rank
"""


@membership.read_consistently
def features_reports(conn: psycopg.Connection, segment_ids: list[str], *,
                     day: dt.date | None = None, top: int = 10,
                     timezone: str = "UTC") -> dict[str, FeaturesReport]:
    """`features_report` of several segments on one day, reading the store's orders once.
    Segments without history on the day are left out (their page says why on its own)."""
    if top < 1:
        raise SegflowError(f"--top must be at least 1 (got {top})")
    day = day or membership.last_recorded_day(conn)
    windows = membership.history_windows(conn, membership.resolve_segments(conn, segment_ids))
    segments = [s for s in membership.resolve_segments(conn, segment_ids)
                if windows[s.id].covers(day)]
    if not segments:
        return {}
    tagged = " UNION ALL ".join(
        f"SELECT '{name}', customer_id, order_id, value FROM ({query}) AS x(customer_id,"
        " order_id, value)" for name, query in LISTS.items())
    sql = _FEATURES_MANY.format(members_on=MEMBERS_ON, population=POPULATION, counted=COUNTED,
                                tagged=tagged)
    params = {"ords": [s.ordinal for s in segments], "until": day, "top": top,
              **day_bounds(day, day, timezone)}
    rows = conn.execute(sql, params).fetchall()
    sizes = membership.member_counts(conn, segments, day)
    row = conn.execute(f"SELECT count(*) FROM ({POPULATION}) AS p", params).fetchone()
    customers = row[0] if row else 0
    by_ord = {s.ordinal: s.id for s in segments}
    lists: dict[str, dict[str, list[Feature]]] = {s.id: {name: [] for name in LISTS}
                                                  for s in segments}
    for ordinal, name, value, n_members, orders, n_customers in rows:
        sid = by_ord[ordinal]
        member_share = n_members / sizes[sid]
        customer_share = n_customers / customers
        lists[sid][name].append(Feature(value, n_members, member_share, orders, n_customers,
                                        customer_share, member_share / customer_share))
    return {s.id: FeaturesReport(s.id, day, sizes[s.id], customers, lists[s.id])
            for s in segments}
