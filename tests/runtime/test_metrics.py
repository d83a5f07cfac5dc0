"""The six metrics and the daily order activity recorded by `run_day`, checked against an
independent plain-Python computation written from DESIGN.md's definitions (not from the SQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from statistics import mean
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.runtime import helpers as h

ZONE = ZoneInfo(h.TZ)

RULES = """
segment buyers { where order_count >= 1 }
segment one_order { where order_count = 1 }
segment no_orders { where order_count = 0 }
segment recent { where days_since_last_order <= 30 }
segment vips { where tags contains "vip" }
segment nobody { where order_count >= 100 }
segment everyone { where order_count >= 0 }
"""

METRICS = ("customer_count", "repeat_customer_rate", "lifetime_value", "average_order_value",
           "average_order_count", "purchase_interval_days")


def _facts(conn: psycopg.Connection, day: dt.date) -> dict[int, dict]:
    """Per customer in the store on `day`: order count, amount paid, first / last local dates."""
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZONE)
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    customers = cur.execute("SELECT * FROM store.customers").fetchall()
    orders = cur.execute("SELECT * FROM store.orders").fetchall()
    counted = [o for o in orders
               if o["customer_id"] is not None and o["cancelled_at"] is None
               and not o["is_test"] and o["placed_at"] < cutoff]
    out: dict[int, dict] = {}
    for c in customers:
        mine = [o for o in counted if o["customer_id"] == c["customer_id"]]
        if not (c["created_at"] is None or c["created_at"] < cutoff or mine):
            continue  # not a customer yet on that day
        dates = [o["placed_at"].astimezone(ZONE).date() for o in mine]
        out[c["customer_id"]] = {
            "n": len(mine),
            "total": sum((o["total_price"] - o["refunded_amount"] for o in mine), Decimal(0)),
            "first": min(dates) if dates else None,
            "last": max(dates) if dates else None,
            "tags": c["tags"] or [],
        }
    return out


def _expected_members(facts: dict[int, dict], day: dt.date) -> dict[str, set[int]]:
    """The members of the simple rules, recomputed from their meaning."""
    return {
        "buyers": {c for c, f in facts.items() if f["n"] >= 1},
        "one_order": {c for c, f in facts.items() if f["n"] == 1},
        "no_orders": {c for c, f in facts.items() if f["n"] == 0},
        "recent": {c for c, f in facts.items() if f["last"] and (day - f["last"]).days <= 30},
        "vips": {c for c, f in facts.items() if any("vip" in t.lower() for t in f["tags"])},
        "nobody": set(),
        "everyone": set(facts),
    }


def _mean(values: list) -> float | None:
    return float(mean(values)) if values else None


def _metrics(facts: dict[int, dict], members: set[int]) -> dict[str, float | None]:
    fs = [facts[m] for m in members]
    return {
        "customer_count": len(fs),
        "repeat_customer_rate": _mean([1 if f["n"] >= 2 else 0 for f in fs]),
        "lifetime_value": _mean([f["total"] for f in fs]),
        "average_order_value": _mean([f["total"] / f["n"] for f in fs if f["n"] >= 1]),
        "average_order_count": _mean([f["n"] for f in fs]),
        "purchase_interval_days": _mean([(f["last"] - f["first"]).days / (f["n"] - 1)
                                         for f in fs if f["n"] >= 2]),
    }


def _activity(conn: psycopg.Connection, day: dt.date, members: set[int]) -> tuple[int, Decimal]:
    start = dt.datetime.combine(day, dt.time(), ZONE)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZONE)
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    rows = [o for o in cur.execute("SELECT * FROM store.orders").fetchall()
            if o["customer_id"] in members and o["cancelled_at"] is None and not o["is_test"]
            and start <= o["placed_at"] < end]
    return len(rows), sum((o["total_price"] - o["refunded_amount"] for o in rows), Decimal(0))


def _recorded(conn: psycopg.Connection, day: dt.date) -> dict[str, dict]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return {r["segment_id"]: r for r in cur.execute(
        "SELECT * FROM segflow.daily_metrics WHERE day = %s", (day,))}


def _close(got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    return abs(float(got) - float(want)) <= 1e-6


def _check_day(conn: psycopg.Connection, day: dt.date) -> dict[str, set[int]]:
    facts = _facts(conn, day)
    expected = _expected_members(facts, day)
    recorded = _recorded(conn, day)
    assert set(recorded) == set(expected)
    for sid, want_members in expected.items():
        members = set(h.members(conn, sid))
        assert members == want_members, (day, sid)
        want = _metrics(facts, members)
        got = recorded[sid]
        for name in METRICS:
            assert _close(got[name], want[name]), (day, sid, name, got[name], want[name])
        orders, revenue = _activity(conn, day, members)
        row = conn.execute("SELECT orders, revenue FROM segflow.daily_activity"
                           " WHERE segment_id = %s AND day = %s", (sid, day)).fetchone()
        assert row == (orders, revenue), (day, sid)
    return expected


@pytest.fixture
def applied(conn, tmp_path):
    """The rules applied on an empty state as of 2025-01-31 (a day in the past)."""
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path, today=dt.date(2025, 1, 31))
    return conn


def test_metrics_and_activity_match_python_on_a_past_day_then_later_days(applied, tmp_path):
    conn = applied
    days = [dt.date(2025, 1, 31), dt.date(2025, 3, 10), dt.date(2025, 3, 15)]
    seen, snapshots = {}, {}
    for day in days:
        h.run(conn, day, tmp_path)
        seen[day] = _check_day(conn, day)
        snapshots[day] = _recorded(conn, day)
    # earlier days keep their own snapshot after later runs
    for day in days:
        assert _recorded(conn, day) == snapshots[day]
    # the edge cases really are covered
    early, late = seen[days[0]], seen[days[2]]
    assert 8 not in late["recent"] and 12 in late["recent"]  # 23:59:59 on the day counts
    assert 5 in late["buyers"] and 7 in late["one_order"] and 9 in late["one_order"]
    assert {1, 6, 10}.issubset(late["no_orders"]) and 11 not in late["everyone"]
    assert 2 not in early["buyers"] and 12 not in early["buyers"]  # orders after the past day


def test_known_values_on_as_of_day(applied, tmp_path):
    """A few values worked out by hand from store_data, as an anchor for the Python model."""
    conn = applied
    h.run(conn, dt.date(2025, 1, 31), tmp_path)
    h.run(conn, h.AS_OF, tmp_path)
    got = _recorded(conn, h.AS_OF)
    # buyers on 2025-03-15: 2 (50), 3 (50+30), 4 (5x20), 5 (25+30 same day), 7 ($0), 8 (80),
    # 9 (100 - 40 refund), 12 (45)
    buyers = got["buyers"]
    assert buyers["customer_count"] == 8
    assert _close(buyers["lifetime_value"], (50 + 80 + 100 + 55 + 0 + 80 + 60 + 45) / 8)
    assert _close(buyers["repeat_customer_rate"], 3 / 8)
    assert _close(buyers["average_order_count"], (1 + 2 + 5 + 2 + 1 + 1 + 1 + 1) / 8)
    assert _close(buyers["average_order_value"], (50 + 40 + 20 + 27.5 + 0 + 80 + 60 + 45) / 8)
    # intervals: cy 62 days / 1, dee 2024-06-01 -> 2025-03-15 = 287 days / 4, eve 0
    assert _close(buyers["purchase_interval_days"], (62 + 287 / 4 + 0) / 3)
    nobody = got["nobody"]
    assert nobody["customer_count"] == 0
    assert all(nobody[m] is None for m in METRICS[1:])
    zero = got["no_orders"]
    assert _close(zero["lifetime_value"], 0) and _close(zero["repeat_customer_rate"], 0)
    assert zero["average_order_value"] is None and zero["purchase_interval_days"] is None
    # activity on the day: dee 20.00 (23:30) and lou 45.00 (23:59:59); max's 00:00 is the next day
    assert conn.execute("SELECT orders, revenue FROM segflow.daily_activity"
                        " WHERE segment_id = 'buyers' AND day = %s", (h.AS_OF,)).fetchone() == (
        2, Decimal("65.00"))


def test_same_day_orders_count_in_activity(applied, tmp_path):
    conn = applied
    h.run(conn, dt.date(2025, 3, 10), tmp_path)
    assert conn.execute("SELECT orders, revenue FROM segflow.daily_activity"
                        " WHERE segment_id = 'buyers' AND day = '2025-03-10'").fetchone() == (
        2, Decimal("55.00"))
