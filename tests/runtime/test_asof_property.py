"""For any orders with cancellations and refunds at any instants, a rule evaluated as of a day
sees exactly the orders counted that day, their amounts that day and their positions among them
(checked against a plain-Python reading of docs/language.md, "Which orders count")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from tests.runtime import helpers as h

TZ = ZoneInfo(h.TZ)
DAY0 = dt.date(2025, 3, 1)  # spans the 2025-03-09 daylight-saving change in Toronto
DAYS = [DAY0 + dt.timedelta(days=n) for n in (1, 4, 8, 11)]
FIRST_ID = 5_000  # customers and orders of this test (the hand-built store's are below 200)

RULES = """
segment first_a { where first_order.product = "A" }
segment second_a { where second_order.product = "A" }
segment later_a { where later_orders.product = "A" }
segment last_a { where last_order.product = "A" }
segment spent { where total_spent >= 40 }
segment two { where order_count >= 2 }
segment big_order { where orders[total >= 20].count >= 1 }
"""

instants = st.builds(lambda d, m: dt.datetime.combine(DAY0, dt.time(), TZ)
                     + dt.timedelta(days=d, minutes=m),
                     st.integers(0, 12), st.sampled_from([0, 30, 23 * 60 + 59, 24 * 60 - 30]))
orders = st.fixed_dictionaries({
    "placed": instants,
    "product": st.sampled_from("AB"),
    "total": st.sampled_from([0, 10, 40]),
    "test": st.sampled_from([False, False, False, True]),
    "cancel_after": st.none() | st.integers(0, 6 * 24 * 60),  # minutes after it was placed
    "undated": st.sampled_from([0, 5]),
    "refunds": st.lists(st.tuples(st.integers(0, 8 * 24 * 60), st.sampled_from([5, 10])),
                        max_size=2),
})
stores = st.lists(st.lists(orders, min_size=0, max_size=4), min_size=1, max_size=4)


def _rows(store):
    """(orders, lines, refunds) rows; each order's refunded_amount is its undated + dated ones."""
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


def _expected(orders_rows, lines, refunds, day: dt.date) -> dict[str, set[int]]:
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), TZ)
    product = {o: p for o, _n, p, _q, _t in lines}
    counted: dict[int, list[tuple]] = {}
    for oid, c, placed, total, refunded, cancelled, test in orders_rows:
        if test or placed >= cutoff or (cancelled is not None and cancelled < cutoff):
            continue
        later = sum(a for o, _n, at, a in refunds if o == oid and at >= cutoff)
        amount = Decimal(total) - Decimal(refunded) + min(Decimal(later), Decimal(refunded))
        counted.setdefault(c, []).append((placed, oid, amount))
    out = {sid: set() for sid in ("first_a", "second_a", "later_a", "last_a", "spent", "two",
                                  "big_order")}
    for c, rows in counted.items():
        rows.sort()
        names = [product[oid] for _p, oid, _a in rows]
        if names[0] == "A":
            out["first_a"].add(c)
        if len(names) >= 2 and names[1] == "A":
            out["second_a"].add(c)
        if "A" in names[1:]:
            out["later_a"].add(c)
        if names[-1] == "A":
            out["last_a"].add(c)
        if sum(a for *_x, a in rows) >= 40:
            out["spent"].add(c)
        if len(rows) >= 2:
            out["two"].add(c)
        if any(a >= 20 for *_x, a in rows):
            out["big_order"].add(c)
    return out


@settings(max_examples=25, deadline=None,
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
            want = _expected(orders_rows, lines, refunds, day)
            for sid in sorted(want):
                query = render(segment_query(project, sid, Evaluation(day, h.TZ)))
                got = {r[0] for r in conn.execute(query) if r[0] >= FIRST_ID}
                assert got == want[sid], (day, sid)
