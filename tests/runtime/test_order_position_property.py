"""For any orders (several on one day, around midnight and the 2025-03-09 daylight-saving change
in Toronto, cancelled before or after the day, refunded before or after it), the Nth order, the
days between orders, `refunded` and `cancelled_orders` are what docs/language.md says as of each
day (checked against a plain-Python reading of it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from tests.runtime import helpers as h

TZ = ZoneInfo(h.TZ)
DAY0 = dt.date(2025, 3, 1)
DAYS = [DAY0 + dt.timedelta(days=n) for n in (2, 8, 9, 12)]
FIRST_ID = 6_000

RULES = """
segment gap0 { where second_order.days_since_previous = 0 }
segment gap_le1 { where last_order.days_since_previous <= 1 }
segment gap_ge8 { where orders.days_since_previous >= 8 }
segment no_previous { where last_order.days_since_previous is not set }
segment after_le7 { where later_orders[days_after_first <= 7].count >= 1 }
segment third_a { where order(3).product = "A" }
segment fourth_any { where order(4).product is set }
segment numbered_a { where orders[number >= 2 and product = "A"].count >= 1 }
segment previous_a { where previous_order.product = "A" }
segment refunded { where orders[refunded >= 5].count >= 1 }
segment cancelled_one { where cancelled_orders.count >= 1 }
segment cancelled_a { where cancelled_orders[product = "A"].total >= 10 }
"""

instants = st.builds(lambda d, m: dt.datetime.combine(DAY0, dt.time(), TZ)
                     + dt.timedelta(days=d, minutes=m),
                     st.integers(0, 12), st.sampled_from([0, 30, 23 * 60 + 59, 24 * 60 - 30]))
orders = st.fixed_dictionaries({
    "placed": instants,
    "product": st.sampled_from("AB"),
    "total": st.sampled_from([0, 10, 40]),
    "test": st.sampled_from([False, False, False, True]),
    "cancel_after": st.none() | st.none() | st.integers(0, 6 * 24 * 60),
    "undated": st.sampled_from([0, 5]),
    "refunds": st.lists(st.tuples(st.integers(0, 8 * 24 * 60), st.sampled_from([5, 10])),
                        max_size=2),
})
stores = st.lists(st.lists(orders, min_size=0, max_size=5), min_size=1, max_size=4)


def _rows(store):
    out_orders, out_lines, out_refunds = [], [], []
    oid = FIRST_ID
    for c, customer_orders in enumerate(store, start=FIRST_ID):
        for o in customer_orders:
            oid += 1
            refunds = [(o["placed"] + dt.timedelta(minutes=m), a) for m, a in o["refunds"]]
            refunded = min(o["total"], o["undated"] + sum(a for _, a in refunds))
            cancelled = (None if o["cancel_after"] is None
                         else o["placed"] + dt.timedelta(minutes=o["cancel_after"]))
            out_orders.append((oid, c, o["placed"], o["total"], refunded, cancelled, o["test"]))
            out_lines.append((oid, 1, o["product"], 1, o["total"]))
            out_refunds += [(oid, n, at, a) for n, (at, a) in enumerate(refunds, start=1)]
    return out_orders, out_lines, out_refunds


def _expected(orders_rows, lines, refunds, day: dt.date, _count: int) -> dict[str, set[int]]:
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), TZ)
    product = {o: p for o, _n, p, _q, _t in lines}
    counted: dict[int, list[tuple]] = {}
    cancelled: dict[int, list[tuple]] = {}
    for oid, c, placed, total, refunded, cancel, test in orders_rows:
        if test or placed >= cutoff:
            continue
        later = sum(a for o, _n, at, a in refunds if o == oid and at >= cutoff)
        refunded_then = Decimal(refunded) - min(Decimal(later), Decimal(refunded))
        row = (placed, oid, refunded_then, Decimal(total) - refunded_then)
        (cancelled if cancel is not None and cancel < cutoff else counted).setdefault(
            c, []).append(row)
    out = {line.split()[1]: set() for line in RULES.strip().splitlines()}
    out["has_previous"] = set()
    for c, rows in counted.items():
        rows.sort()
        days = [placed.astimezone(TZ).date() for placed, *_ in rows]
        names = [product[oid] for _p, oid, *_ in rows]
        gaps = [None] + [(b - a).days for a, b in pairwise(days)]
        checks = {
            "gap0": len(rows) >= 2 and gaps[1] == 0,
            "gap_le1": gaps[-1] is not None and gaps[-1] <= 1,
            "gap_ge8": any(g is not None and g >= 8 for g in gaps),
            "has_previous": gaps[-1] is not None,
            "after_le7": any((d - days[0]).days <= 7 for d in days[1:]),
            "third_a": len(rows) >= 3 and names[2] == "A",
            "fourth_any": len(rows) >= 4,
            "numbered_a": "A" in names[1:],
            "previous_a": len(rows) >= 2 and names[-2] == "A",
            "refunded": any(r[2] >= 5 for r in rows),
        }
        out.update({sid: out[sid] | {c} for sid, ok in checks.items() if ok})
    # `is not set` is the negation of `is set`: customers without orders too
    customers = {c for _oid, c, *_ in orders_rows} | set(range(FIRST_ID, FIRST_ID + _count))
    out["no_previous"] = customers - out.pop("has_previous", set())
    for c, rows in cancelled.items():
        out["cancelled_one"].add(c)
        if sum(amount for _p, oid, _r, amount in rows if product[oid] == "A") >= 10:
            out["cancelled_a"].add(c)
    return out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stores)
def test_any_store_is_seen_as_it_was_on_each_day(conn, tmp_path, store):
    project = h.project(RULES, tmp_path)
    orders_rows, lines, refunds = _rows(store)
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.executemany("INSERT INTO store.customers (customer_id, created_at) VALUES (%s, %s)",
                        [(c, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
                         for c in range(FIRST_ID, FIRST_ID + len(store))])
        cur.executemany("INSERT INTO store.orders (order_id, customer_id, placed_at, total_price,"
                        " refunded_amount, cancelled_at, is_test) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        orders_rows)
        cur.executemany("INSERT INTO store.order_lines (order_id, line_no, product, quantity,"
                        " price) VALUES (%s,%s,%s,%s,%s)", lines)
        cur.executemany("INSERT INTO store.refunds VALUES (%s,%s,%s,%s)", refunds)
        for day in DAYS:
            want = _expected(orders_rows, lines, refunds, day, len(store))
            for sid in sorted(want):
                query = render(segment_query(project, sid, Evaluation(day, h.TZ)))
                got = {r[0] for r in conn.execute(query) if r[0] >= FIRST_ID}
                assert got == want[sid], (day, sid)
