"""Revenue tracking against the plain-Python model, in both cohort modes."""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.analytics.revenue import revenue_report
from segflow.errors import SegflowError
from tests.analytics import conftest as store
from tests.analytics.model import LAST_DAY
from tests.runtime import helpers as h

BEFORE = store.APPLIED - dt.timedelta(days=4)  # no history yet
AFTER = LAST_DAY + dt.timedelta(days=5)  # not run yet (the store has orders up to END)


def _report(conn, segment, start, end, cohort):
    return revenue_report(conn, segment, start, end, cohort=cohort, timezone=h.TZ)


def _check(report, want) -> None:
    got = [(d.day, d.members, d.orders, d.revenue) for d in report.days]
    assert got == [(d["day"], d["members"], d["orders"], d["revenue"]) for d in want["days"]]
    assert (report.orders, report.revenue, report.buyers, report.cohort_size) == (
        want["orders"], want["revenue"], want["buyers"], want["cohort_size"])


@pytest.mark.parametrize("segment", ["active", "late", "repeaters"])
def test_daily_cohort_counts_orders_of_members_on_the_order_day(conn, model, segment):
    report = _report(conn, segment, BEFORE, AFTER, "daily")
    _check(report, model.revenue(segment, BEFORE, AFTER, "daily"))
    history = {d.day: d.history for d in report.days}
    assert history[BEFORE] == "none" and history[AFTER] == "none"
    assert history[dt.date(2026, 6, 9)] == "carried"  # between the two run windows
    assert history[LAST_DAY] == "recorded"
    assert report.days_without_history == sum(1 for d in report.days if d.orders is None) > 0


@pytest.mark.parametrize("segment", ["active", "big_spenders"])
def test_start_cohort_follows_the_first_days_members(conn, model, segment):
    start = store.APPLIED + dt.timedelta(days=2)
    report = _report(conn, segment, start, AFTER, "start")
    _check(report, model.revenue(segment, start, AFTER, "start"))
    after = [d for d in report.days if d.day > LAST_DAY]
    assert all(d.members is None and d.orders is not None for d in after)


def test_customers_entering_and_leaving_inside_the_period_count_only_while_members(conn, model):
    """Some `active` customers leave and come back within the period: the daily cohort counts
    their orders of the member days only, the start cohort counts all of them."""
    start, end = store.APPLIED, LAST_DAY
    daily = _report(conn, "active", start, end, "daily")
    cohort = _report(conn, "active", start, end, "start")
    first = model.members("active", start)
    movers = [
        c for c in first
        if any(c not in model.members("active", d.day) for d in daily.days)
        and any(o["customer_id"] == c and start <= o["day"] <= end
                and c not in model.members("active", o["day"]) for o in model.orders)
    ]
    assert movers  # the case is really covered
    entered_later = {o["customer_id"] for o in model.orders
                     if start <= o["day"] <= end and o["customer_id"] not in first
                     and o["customer_id"] in model.members("active", o["day"])}
    assert entered_later
    assert daily.orders != cohort.orders


def test_daily_cohort_equals_the_recorded_daily_activity_on_run_days(conn):
    for segment in ("active", "repeaters", "big_spenders"):
        report = _report(conn, segment, store.APPLIED, LAST_DAY, "daily")
        recorded = {day: (orders, revenue) for day, orders, revenue in conn.execute(
            "SELECT day, orders, revenue FROM segflow.daily_activity WHERE segment_id = %s",
            (segment,))}
        assert set(recorded) == set(store.RUN_DAYS)
        for d in report.days:
            if d.day in recorded:
                assert (d.orders, d.revenue) == recorded[d.day], (segment, d.day)


def test_a_period_of_exactly_one_year_is_allowed_and_one_day_more_is_not(conn):
    start = dt.date(2025, 7, 1)
    year = _report(conn, "active", start, dt.date(2026, 6, 30), "daily")
    assert len(year.days) == 365 and year.history.first == store.APPLIED
    with pytest.raises(SegflowError, match="longer than one year"):
        _report(conn, "active", start, dt.date(2026, 7, 1), "daily")


@pytest.mark.parametrize(("segment", "start", "end", "cohort", "message"), [
    ("actve", BEFORE, AFTER, "daily", "unknown segment 'actve' — did you mean 'active'"),
    ("active", AFTER, BEFORE, "daily", "starts after it ends"),
    ("active", BEFORE, AFTER, "start", "no membership history for 2026-05-21"),
    ("active", BEFORE, AFTER, "weekly", "unknown cohort"),
])
def test_bad_requests_are_refused_clearly(conn, segment, start, end, cohort, message):
    with pytest.raises(SegflowError, match=message):
        _report(conn, segment, start, end, cohort)


def test_a_backfilled_day_extends_the_history_and_says_so(fresh_conn):
    """Days reproduced by `seg backfill` (rows marked backfilled) count, marked `backfilled`."""
    conn, day = fresh_conn, store.APPLIED - dt.timedelta(days=1)
    (customer,) = conn.execute("SELECT customer_id FROM store.orders WHERE customer_id IS NOT NULL"
                               " AND cancelled_at IS NULL AND NOT is_test"
                               " AND (placed_at AT TIME ZONE %s)::date = %s LIMIT 1",
                               (h.TZ, day)).fetchone()
    conn.execute("INSERT INTO segflow.daily_metrics (day, segment_id, customer_count, backfilled)"
                 " VALUES (%s, 'active', 1, true)", (day,))
    conn.execute("INSERT INTO segflow.membership_events (day, segment_ord, customer_id, entered,"
                 " backfilled) SELECT %s, ordinal, %s, true, true FROM segflow.segments"
                 " WHERE segment_id = 'active'", (day, customer))
    report = _report(conn, "active", day - dt.timedelta(days=1), day, "daily")
    assert report.history.first == day
    before, backfilled = report.days
    assert (before.history, before.orders) == ("none", None)
    assert (backfilled.history, backfilled.members) == ("backfilled", 1)
    assert backfilled.orders >= 1
