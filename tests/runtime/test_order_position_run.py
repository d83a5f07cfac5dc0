"""The daily run keeps segments over the Nth order, time between orders and cancelled orders
exactly as a full recompute would: these constructs depend only on the store's orders (which
orders count on the day), except a `today` inside a filter, and the incremental run must see
cancellations, refunds and back-dated orders move positions and gaps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import psycopg

from segflow.sources.synth import generate_store
from tests.runtime import helpers as h
from tests.runtime.helpers import GENERATED_END as END
from tests.runtime.test_incremental import _change_store, _mode, _recomputed, _snapshot

NTH_RULES = """
segment fast_second { where second_order.days_since_previous <= 14 }
segment long_gap { where last_order.days_since_previous > 60 }
segment refill_early {
  where later_orders[product = "Coffee Beans Refill" and days_after_first <= 30].count >= 1
}
segment third_beans { where order(3).product = "Coffee Beans Refill" }
segment later_espresso { where orders[number >= 3 and product = "Espresso Blend"].count >= 1 }
segment web_then_other {
  where previous_order.channel = "online_store" and last_order.channel != "online_store"
}
segment refunded_recently { where orders[refunded > 0 and date >= today - 90d].count >= 1 }
segment cancellers { where cancelled_orders.count >= 1 }
segment recent_cancel { where cancelled_orders[date >= today - 60d].count >= 1 }
segment paid_last { where last_order.financial_status = "paid" }
"""
SEGMENTS = [line.split()[1] for line in NTH_RULES.splitlines() if line.startswith("segment")]

ZONE = ZoneInfo(h.TZ)
BEANS, ESPRESSO, WEB = "Coffee Beans Refill", "Espresso Blend", "online_store"


def _rows(conn: psycopg.Connection, query: str) -> list[dict]:
    return conn.cursor(row_factory=psycopg.rows.dict_row).execute(query).fetchall()


def _expected(conn: psycopg.Connection, day: dt.date) -> dict[str, set[int]]:
    """The members of NTH_RULES, from the store's rows and docs/language.md's words."""
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZONE)
    products: dict[int, set[str]] = {}
    for line in _rows(conn, "SELECT order_id, product FROM store.order_lines"):
        products.setdefault(line["order_id"], set()).add(line["product"])
    later: dict[int, Decimal] = {}
    for r in _rows(conn, "SELECT order_id, created_at, amount FROM store.refunds"):
        if r["created_at"] >= cutoff:
            later[r["order_id"]] = later.get(r["order_id"], Decimal(0)) + r["amount"]
    counted: dict[int, list[dict]] = {}
    cancelled: dict[int, list[dict]] = {}
    for o in _rows(conn, "SELECT * FROM store.orders WHERE customer_id IS NOT NULL"
                         " AND NOT is_test"):
        if o["placed_at"] >= cutoff:
            continue
        o["day"] = o["placed_at"].astimezone(ZONE).date()
        o["products"] = products.get(o["order_id"], set())
        o["refunded"] = o["refunded_amount"] - min(later.get(o["order_id"], Decimal(0)),
                                                   o["refunded_amount"])
        gone = o["cancelled_at"] is not None and o["cancelled_at"] < cutoff
        (cancelled if gone else counted).setdefault(o["customer_id"], []).append(o)
    out: dict[str, set[int]] = {}
    for c, os in counted.items():
        os.sort(key=lambda o: (o["placed_at"], o["order_id"]))
        gaps = [None] + [(b["day"] - a["day"]).days for a, b in pairwise(os)]
        after = [(o["day"] - os[0]["day"]).days for o in os]
        rules = {
            "fast_second": len(os) >= 2 and gaps[1] <= 14,
            "long_gap": len(os) >= 2 and gaps[-1] > 60,
            "refill_early": any(BEANS in o["products"] and after[i] <= 30
                                for i, o in enumerate(os) if i >= 1),
            "third_beans": len(os) >= 3 and BEANS in os[2]["products"],
            "later_espresso": any(ESPRESSO in o["products"] for o in os[2:]),
            "web_then_other": len(os) >= 2 and os[-2]["channel"] == WEB
            and os[-1]["channel"] != WEB,
            "refunded_recently": any(o["refunded"] > 0 and o["day"] >= day - dt.timedelta(days=90)
                                     for o in os),
            "paid_last": os[-1]["financial_status"] == "paid",
        }
        for sid, member in rules.items():
            if member:
                out.setdefault(sid, set()).add(c)
    for c, os in cancelled.items():
        out.setdefault("cancellers", set()).add(c)
        if any(o["day"] >= day - dt.timedelta(days=60) for o in os):
            out.setdefault("recent_cancel", set()).add(c)
    return out


def test_incremental_runs_equal_full_recompute(conn, tmp_path):
    with conn.transaction():
        generate_store(conn, 600, 11, END)
    h.plan_apply(conn, h.project(NTH_RULES, tmp_path), tmp_path, today=END - dt.timedelta(days=30))
    days = [END - dt.timedelta(days=n) for n in (30, 29, 26, 19, 5, 0)]
    sizes: dict[str, int] = {}
    for step, day in enumerate(days):
        if step:
            _change_store(conn, day, step)
        h.run(conn, day, tmp_path)
        assert _mode(conn) == ("rebuild" if step == 0 else "advance")
        incremental = _snapshot(conn, day)
        full, again = _recomputed(conn, day, tmp_path)
        assert (again.entered, again.left, again.snapshots) == (0, 0, 0), day
        assert incremental == full, day
        want = _expected(conn, day)
        for sid in sorted(want | dict.fromkeys(SEGMENTS)):
            got = set(h.members(conn, sid))
            assert got == want.get(sid, set()), (day, sid)
            sizes[sid] = max(sizes.get(sid, 0), len(got))
    assert all(sizes[sid] > 0 for sid in SEGMENTS), sizes  # every rule selects somebody
