"""The analytics figures recomputed in plain Python, independently of the SQL.

Membership comes from `test_snapshots` (a copy of the current-state table taken after every run
and apply while the history was built), never from `membership_events`; orders are filtered and
assigned to days here, from the raw rows. Definitions follow docs/analytics.md.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from tests.analytics import conftest as store
from tests.runtime import helpers as h

ZONE = ZoneInfo(h.TZ)


def first_day(segment: str) -> dt.date:
    """The first day with history: the day the segment was applied as of."""
    return store.LATE_APPLIED - dt.timedelta(days=1) if segment == "late" else store.APPLIED


LAST_DAY = store.RUN_DAYS[-1]


@dataclass
class Model:
    snapshots: dict[str, dict[dt.date, set[int]]]
    orders: list[dict]  # counted orders, with `day` (store time)
    lines: dict[int, list[str]]  # order id -> products
    customers: list[dict]

    @classmethod
    def load(cls, conn: psycopg.Connection) -> Model:
        snaps: dict[str, dict[dt.date, set[int]]] = defaultdict(lambda: defaultdict(set))
        days = {r[0] for r in conn.execute("SELECT DISTINCT day FROM public.test_snapshots")}
        for seg in ("one_timers", "repeaters", "active", "big_spenders", "late"):
            for day in days:
                snaps[seg][day] = set()
        for day, seg, customer in conn.execute("SELECT * FROM public.test_snapshots"):
            snaps[seg][day].add(customer)
        cur = conn.cursor(row_factory=dict_row)
        orders = []
        for o in cur.execute("SELECT * FROM store.orders"):
            if o["customer_id"] is None or o["cancelled_at"] is not None or o["is_test"]:
                continue
            o["day"] = o["placed_at"].astimezone(ZONE).date()
            orders.append(o)
        lines: dict[int, list[str]] = defaultdict(list)
        for order_id, product in conn.execute("SELECT order_id, product FROM store.order_lines"):
            if product is not None:
                lines[order_id].append(product)
        customers = cur.execute("SELECT customer_id, created_at FROM store.customers").fetchall()
        return cls(snaps, orders, lines, customers)

    def known(self, segment: str, day: dt.date) -> bool:
        return first_day(segment) <= day <= LAST_DAY

    def members(self, segment: str, day: dt.date) -> set[int] | None:
        """Members at the end of `day`: the last snapshot on or before it; None if unknown."""
        if not self.known(segment, day):
            return None
        snaps = self.snapshots[segment]
        return snaps[max(d for d in snaps if d <= day)]

    def revenue(self, segment: str, start: dt.date, end: dt.date, cohort: str) -> dict:
        days, total_orders, total_revenue, buyers = [], 0, Decimal(0), set()
        cohort_members = self.members(segment, start) if cohort == "start" else None
        day = start
        while day <= end:
            members = self.members(segment, day)
            who = cohort_members if cohort == "start" else members
            if who is None:
                days.append({"day": day, "members": None, "orders": None, "revenue": None})
            else:
                mine = [o for o in self.orders if o["day"] == day and o["customer_id"] in who]
                amount = sum((o["total_price"] - o["refunded_amount"] for o in mine), Decimal(0))
                shown = None if members is None else (
                    len(members) if cohort == "daily" else len(members & who))
                days.append({"day": day, "members": shown, "orders": len(mine), "revenue": amount})
                total_orders += len(mine)
                total_revenue += amount
                buyers |= {o["customer_id"] for o in mine}
            day += dt.timedelta(days=1)
        return {"days": days, "orders": total_orders, "revenue": total_revenue,
                "buyers": len(buyers),
                "cohort_size": None if cohort_members is None else len(cohort_members)}

    def population(self, day: dt.date) -> set[int]:
        cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZONE)
        buyers = {o["customer_id"] for o in self.orders if o["placed_at"] < cutoff}
        return {c["customer_id"] for c in self.customers
                if c["created_at"] is None or c["created_at"] < cutoff
                or c["customer_id"] in buyers}

    def features(self, segment: str, day: dt.date) -> dict[str, list[dict]]:
        """Every value of every list (untruncated), ranked."""
        members = self.members(segment, day)
        assert members is not None
        population = self.population(day)
        cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZONE)
        by_customer: dict[int, list[dict]] = defaultdict(list)
        for o in self.orders:
            if o["placed_at"] < cutoff:
                by_customer[o["customer_id"]].append(o)
        values: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
        for customer, orders in by_customer.items():
            if customer not in population:
                continue
            first = min(orders, key=lambda o: (o["placed_at"], o["order_id"]))
            for o in orders:
                pair = (customer, o["order_id"])
                for product in set(self.lines[o["order_id"]]):
                    values["products"][product].append(pair)
                    if o is first:
                        values["first_products"][product].append(pair)
                for name, column in (("channels", "channel"), ("utm_sources", "utm_source"),
                                     ("utm_campaigns", "utm_campaign")):
                    if o[column] is not None:
                        values[name][o[column]].append(pair)
        out = {}
        for name in ("products", "first_products", "channels", "utm_sources", "utm_campaigns"):
            rows = []
            for value, pairs in values[name].items():
                customers = {c for c, _ in pairs}
                mine = customers & members
                if not mine:
                    continue
                member_share = len(mine) / len(members)
                customer_share = len(customers) / len(population)
                rows.append({"value": value, "members": len(mine),
                             "member_share": round(member_share, 6),
                             "orders": len({o for c, o in pairs if c in members}),
                             "customers": len(customers),
                             "customer_share": round(customer_share, 6),
                             "lift": round(member_share / customer_share, 6)})
            rows.sort(key=lambda r: (-r["members"], -r["orders"], r["value"]))
            out[name] = rows
        return out

    def journey(self, segments: list[str], start: dt.date, end: dt.date) -> Counter:
        def state(customer: int, day: dt.date) -> tuple[str, ...]:
            return tuple(s for s in segments if customer in self.members(s, day))

        everyone = set().union(*(self.members(s, start) | self.members(s, end)
                                 for s in segments))
        return Counter((state(c, start), state(c, end)) for c in everyone)
