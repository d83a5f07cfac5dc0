"""Membership rebuilt from the events equals what the current-state table held on each day."""

from __future__ import annotations

import datetime as dt

import psycopg

from segflow.analytics import membership as m
from tests.analytics import conftest as store
from tests.analytics.model import LAST_DAY, first_day
from tests.runtime import helpers as h

SEGMENTS = ["one_timers", "repeaters", "active", "big_spenders", "late"]


def _days(start: dt.date, end: dt.date):
    while start <= end:
        yield start
        start += dt.timedelta(days=1)


def test_members_on_every_day_match_the_snapshots(conn, model):
    refs = m.resolve_segments(conn, SEGMENTS)
    for day in _days(store.APPLIED, LAST_DAY):
        got = m.members_on(conn, refs, day)
        counts = m.member_counts(conn, refs, day)
        for seg in SEGMENTS:
            want = model.members(seg, day)
            if want is None:  # before `late` existed: no events at all
                assert got[seg] == set() and seg == "late"
                continue
            assert got[seg] == want, (seg, day)
            assert counts[seg] == len(want)


def test_history_windows_say_where_history_starts_and_ends(conn):
    refs = m.resolve_segments(conn, SEGMENTS)
    windows = m.history_windows(conn, refs)
    for seg in SEGMENTS:
        assert windows[seg] == m.HistoryWindow(first_day(seg), LAST_DAY)
    assert not windows["late"].covers(first_day("late") - dt.timedelta(days=1))
    assert not windows["active"].covers(LAST_DAY + dt.timedelta(days=1))
    gap = dt.date(2026, 6, 9)  # inside the window, no run that day
    assert windows["active"].covers(gap)
    recorded = m.recorded_days(conn, refs[2], store.APPLIED, LAST_DAY)
    assert gap not in recorded and set(recorded) == set(store.RUN_DAYS)
    assert not any(recorded.values())  # nothing backfilled


def test_an_apply_after_the_days_run_counts_by_net_change(fresh_conn, model, tmp_path):
    """A run and an apply on the same day write opposite events: the day's net change wins."""
    conn = fresh_conn
    rules = store.LATE_RULES.replace("days_since_last_order <= 10",
                                     "days_since_last_order <= 10 and order_count >= 3")
    h.plan_apply(conn, h.project(rules, tmp_path), tmp_path)
    refs = m.resolve_segments(conn, ["active"])
    same_day = conn.execute(
        "SELECT count(*) FROM (SELECT customer_id FROM segflow.membership_events"
        " WHERE segment_ord = %s AND day = %s GROUP BY 1 HAVING count(*) > 1) AS x",
        (refs[0].ordinal, LAST_DAY)).fetchone()[0]
    assert same_day > 0  # entered in the run, left in the apply
    got = m.members_on(conn, refs, LAST_DAY)["active"]
    assert got == set(h.members(conn, "active"))
    assert got < model.members("active", LAST_DAY)


def test_reports_run_in_their_own_read_only_snapshot_or_the_callers_transaction(conn, store_db):
    from segflow.analytics.overlap import overlap_report

    report = overlap_report(conn, ["active", "repeaters"])  # autocommit: its own snapshot
    assert report.day == LAST_DAY and conn.info.transaction_status.name == "IDLE"
    with psycopg.connect(store_db) as mine:  # a dashboard's open transaction is reused
        mine.execute("SELECT 1")
        assert overlap_report(mine, ["active", "repeaters"]) == report
        assert mine.info.transaction_status.name == "INTRANS"
