"""`seg backfill` records, day by day, exactly what `seg run --date` records for the same days."""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.errors import SegflowError
from segflow.lifecycle.backfill import backfill
from tests.runtime import helpers as h
from tests.runtime.helpers import GENERATED_END as END

DAYS = [END - dt.timedelta(days=n) for n in range(30, 17, -1)]  # 13 consecutive days
FIRST, LAST = DAYS[1], DAYS[-1]  # DAYS[0] is the apply day: its events come from the apply

HISTORY = {
    "events": "SELECT day, segment_ord, customer_id, entered FROM segflow.membership_events"
              " WHERE day BETWEEN %(a)s AND %(b)s ORDER BY 1, 2, 3, 4",
    "metrics": "SELECT day, segment_id, customer_count, repeat_customer_rate, lifetime_value,"
               " average_order_value, average_order_count, purchase_interval_days"
               " FROM segflow.daily_metrics WHERE day BETWEEN %(a)s AND %(b)s ORDER BY 1, 2",
    "activity": "SELECT day, segment_id, orders, revenue FROM segflow.daily_activity"
                " WHERE day BETWEEN %(a)s AND %(b)s ORDER BY 1, 2",
}


def _history(conn, a=FIRST, b=LAST) -> dict[str, list]:
    return {k: conn.execute(q, {"a": a, "b": b}).fetchall() for k, q in HISTORY.items()}


def _forget(conn, a=FIRST, b=LAST) -> None:
    for table in ("membership_events", "daily_metrics", "daily_activity"):
        conn.execute(f"DELETE FROM segflow.{table} WHERE day BETWEEN %s AND %s", (a, b))


def _backfilled_flags(conn) -> set[bool]:
    return {r[0] for r in conn.execute(
        "SELECT backfilled FROM segflow.daily_metrics WHERE day BETWEEN %s AND %s"
        " UNION SELECT backfilled FROM segflow.membership_events WHERE day BETWEEN %s AND %s",
        (FIRST, LAST, FIRST, LAST))}


@pytest.fixture
def recorded(conn, generated):
    """Daily runs for every day of DAYS: the reference history."""
    for day in DAYS:
        h.run(conn, day, generated)
    return _history(conn)


def _backfill(conn, root, **kw):
    kw.setdefault("segment_ids", None)
    return backfill(conn, root, h.TZ, kw.pop("segment_ids"), kw.pop("start", FIRST),
                    kw.pop("end", LAST), **kw)


def test_backfill_equals_the_daily_runs_day_by_day(conn, generated, recorded):
    assert any(recorded["events"]) and len(recorded["metrics"]) == 12 * 15
    _forget(conn)
    result = _backfill(conn, generated)
    assert (result.days, result.written, result.skipped) == (12, 12 * 15, 0)
    assert _history(conn) == recorded
    assert _backfilled_flags(conn) == {True}
    # idempotent: everything has history now
    again = _backfill(conn, generated)
    assert (again.written, again.skipped) == (0, 12 * 15)
    assert _history(conn) == recorded


def test_days_with_real_history_are_kept_unless_overwrite(conn, generated, recorded):
    result = _backfill(conn, generated)
    assert result.written == 0 and _backfilled_flags(conn) == {False}
    result = _backfill(conn, generated, overwrite=True)
    assert result.written == 12 * 15
    assert _history(conn) == recorded
    assert _backfilled_flags(conn) == {True}


def test_some_segments_only_and_resume_after_a_crash(conn, generated, recorded):
    _forget(conn)
    seen = []

    def crash_after_four_days(day, done, total):
        seen.append(day)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _backfill(conn, generated, segment_ids=["busy_month", "lapsing"],
                  progress=crash_after_four_days)
    saved = conn.execute("SELECT count(DISTINCT day) FROM segflow.daily_metrics"
                         " WHERE day BETWEEN %s AND %s", (FIRST, LAST)).fetchone()[0]
    assert saved == 4  # the days before the crash are committed, nothing of the fifth
    result = _backfill(conn, generated, segment_ids=["busy_month", "lapsing"])
    assert result.skipped == 4 * 2 and result.written == 8 * 2
    mine = {s for s in ("busy_month", "lapsing")}
    ords = {h.ordinal(conn, s) for s in mine}
    expected = {
        "events": [e for e in recorded["events"] if e[1] in ords],
        "metrics": [m for m in recorded["metrics"] if m[1] in mine],
        "activity": [a for a in recorded["activity"] if a[1] in mine],
    }
    assert _history(conn) == expected


def test_bad_requests_are_refused(conn, generated, recorded):
    with pytest.raises(SegflowError, match="no applied segment 'nope'"):
        _backfill(conn, generated, segment_ids=["nope"])
    with pytest.raises(SegflowError, match="is after --to"):
        _backfill(conn, generated, start=LAST, end=FIRST)
    with pytest.raises(SegflowError, match="after the last daily run"):
        _backfill(conn, generated, end=END)


def test_seg_backfill_command(conn, store_db, generated, recorded):
    from click.testing import CliRunner

    from segflow.cli.main import cli

    (generated / "seg.toml").write_text(f'[store]\ntimezone = "{h.TZ}"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db})

    def seg(*args):
        return runner.invoke(cli, ["-C", str(generated), *args])

    assert seg("backfill", "--from", str(FIRST)).exit_code == 2  # neither segments nor --all
    assert seg("backfill", "busy_month", "--all", "--from", str(FIRST)).exit_code == 2
    _forget(conn)
    done = seg("backfill", "--all", "--from", str(FIRST), "--to", str(LAST))
    assert done.exit_code == 0, done.output
    assert "backfilling days: 12/12" in done.output
    assert "12 days" not in done.output and "180 day snapshots written" in done.output
    assert _history(conn) == recorded
    bad = seg("backfill", "nope", "--from", str(FIRST))
    assert bad.exit_code == 1 and "no applied segment 'nope'" in bad.output
    assert "Traceback" not in bad.output


def _members_from_events(conn, day) -> dict[int, set[int]]:
    """Membership on `day` read back from the events, in plain Python: a customer is in a
    segment if their last day with a net change on or before `day` was an entry."""
    net: dict[tuple[int, int], dict[dt.date, int]] = {}
    for d, o, c, entered in conn.execute(
            "SELECT day, segment_ord, customer_id, entered FROM segflow.membership_events"
            " WHERE day <= %s", (day,)):
        days = net.setdefault((o, c), {})
        days[d] = days.get(d, 0) + (1 if entered else -1)
    out: dict[int, set[int]] = {}
    for (o, c), days in net.items():
        changes = [d for d in sorted(days) if days[d]]
        if changes and days[changes[-1]] > 0:
            out.setdefault(o, set()).add(c)
    return out


def _current(conn) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for c, segs in conn.execute("SELECT customer_id, segments FROM segflow.customer_segments"):
        for o in segs:
            out.setdefault(o, set()).add(c)
    return out


def test_days_before_a_segment_existed_join_its_recorded_history(conn, generated, recorded):
    before = _history(conn)
    assert _members_from_events(conn, LAST) == _current(conn)
    start, end = DAYS[0] - dt.timedelta(days=10), DAYS[0] - dt.timedelta(days=1)
    result = _backfill(conn, generated, start=start, end=end)
    assert result.written == 10 * 15 and result.entered
    # the recorded days keep their metrics and activity; membership read back from the events
    # is the recorded one on every recorded day, the backfilled chain included
    after = _history(conn)
    assert after["metrics"] == before["metrics"] and after["activity"] == before["activity"]
    assert _members_from_events(conn, LAST) == _current(conn)
    joined = conn.execute("SELECT count(*) FROM segflow.membership_events WHERE day = %s"
                          " AND backfilled AND NOT entered", (DAYS[0],)).fetchone()[0]
    assert joined > 0  # customers in the backfilled chain who were not members on the apply day
    assert conn.execute(  # and only they: each such event follows an entry in the chain
        "SELECT count(*) FROM segflow.membership_events AS e WHERE e.day = %s AND e.backfilled"
        " AND NOT EXISTS (SELECT 1 FROM segflow.membership_events AS p"
        "   WHERE p.segment_ord = e.segment_ord AND p.customer_id = e.customer_id"
        "     AND p.day < e.day AND p.entered = NOT e.entered)", (DAYS[0],)).fetchone()[0] == 0
    again = _backfill(conn, generated, start=start, end=end)
    assert again.written == 0
    assert conn.execute("SELECT count(*) FROM segflow.membership_events WHERE day = %s"
                        " AND backfilled AND NOT entered", (DAYS[0],)).fetchone()[0] == joined
