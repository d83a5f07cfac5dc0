"""History for days that were never run: what `seg run --date` would have recorded.

The backfill walks the days in order on a scratch workspace (temporary facts, memberships and
metric sums of its own; the daily run's current state is never touched). A stretch of missing
days starts from the memberships the events record for the day before it, so its events continue
the recorded ones; its first day is rebuilt from the orders, then each day advances from the
previous one like the incremental daily run (only customers with an order or sign-up that day
are recomputed, plus the flips of calendar-dependent rules). Each day's events, metrics and activity are written with
`backfilled = true` and committed on their own, so a crash loses at most the day in progress and
a second backfill resumes at the first day still missing.

A (segment, day) that already has history — from a daily run or an earlier backfill — is left
alone unless `overwrite`, which replaces it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.incremental import DaySplit, split
from segflow.engines.postgres import daily as engine
from segflow.engines.postgres import locking
from segflow.engines.postgres.daily import Workspace
from segflow.engines.postgres.state import applied_project, read_state
from segflow.errors import SegflowError

MAX_DAYS = 3 * 366
Progress = Callable[[dt.date, int, int], None]  # (day done, days done, days in all)


@dataclass
class BackfillResult:
    segments: int
    days: int = 0  # days in the range
    written: int = 0  # (segment, day) metric rows written
    skipped: int = 0  # (segment, day) left alone: history was there
    entered: int = 0
    left: int = 0
    seconds: float = 0.0


def backfill(conn: psycopg.Connection, root: Path, timezone: str, segment_ids: list[str] | None,
             start: dt.date, end: dt.date, *, overwrite: bool = False,
             progress: Progress | None = None, lock_timeout: float | None = None,
             say: Callable[[str], None] | None = None) -> BackfillResult:
    """Backfill `segment_ids` (None: every applied segment) for `start`..`end` inclusive."""
    started = time.perf_counter()
    say = say or (lambda _m: None)
    if conn.autocommit is False:
        raise AssertionError("backfill commits day by day: give it an autocommit connection")
    state = read_state(conn)
    active = state.active
    if segment_ids is None:
        segment_ids = sorted(active)
    unknown = [s for s in segment_ids if s not in active]
    if unknown:
        known = ", ".join(sorted(active)) or "none"
        raise SegflowError(f"no applied segment {', '.join(map(repr, unknown))} "
                           f"(applied: {known}); backfill works on applied segments")
    if not segment_ids:
        raise SegflowError("no segments applied yet: run `seg apply` first")
    if start > end:
        raise SegflowError(f"--from {start} is after --to {end}")
    if (end - start).days + 1 > MAX_DAYS:
        raise SegflowError(f"{(end - start).days + 1} days asked; backfill at most {MAX_DAYS} "
                           "days at a time")
    limit = state.last_run_day
    if limit is not None and end > limit:
        raise SegflowError(f"--to {end} is after the last daily run ({limit}); days from then on "
                           "are recorded by `seg run`")
    ords = {sid: active[sid].ordinal for sid in segment_ids}
    result = BackfillResult(len(ords), (end - start).days + 1)
    first = start if overwrite else _first_missing(conn, list(ords.values()), start, end)
    if first is None:
        result.skipped = result.days * len(ords)
        result.seconds = time.perf_counter() - started
        say("every day in the range already has history: nothing to backfill")
        return result
    result.skipped += (first - start).days * len(ords)
    if progress:
        for i in range((first - start).days):
            progress(start + dt.timedelta(days=i), i + 1, result.days)
    project = applied_project(state, root)
    fingerprint = state.fingerprint()
    ws = Workspace.scratch("_bf")
    with conn.transaction():
        ws.create(conn)
    everything = sorted(ords.values())
    previous: DaySplit | None = None  # the chain's last day, while there is one
    template: DaySplit | None = None
    day = first
    while day <= end:
        with conn.transaction():
            locking.acquire(conn, timeout_s=lock_timeout, on_wait=say)
            if read_state(conn).fingerprint() != fingerprint:
                raise SegflowError(
                    f"the applied segments changed during the backfill (stopped before {day}; "
                    "days before it are saved): run `seg backfill` again to continue")
            if previous is not None:  # recorded history that starts today joins the chain
                _join_recorded_history(conn, ws, day, everything)
            todo = _todo(conn, everything, day, overwrite)
            result.skipped += len(everything) - len(todo)
            if todo:
                current = split(project, Evaluation(day, timezone), like=template)
                template = template or current
                if previous is None:  # a new chain: from the memberships the events say
                    say(f"computing customer facts and memberships as of {day}")
                    _start_chain(conn, ws, day - dt.timedelta(days=1), everything)
                    engine.rebuild(conn, ws, current, ords)
                else:
                    changed = engine.changed_between(previous, current, written=False)
                    engine.advance(conn, ws, current, previous, ords, changed)
                _record(conn, ws, current, todo, overwrite, result)
                previous = current
                if day == end:
                    _join_recorded_history(conn, ws, day + dt.timedelta(days=1), everything)
            else:
                previous = None
        if progress:
            progress(day, (day - start).days + 1, result.days)
        day += dt.timedelta(days=1)
    result.seconds = time.perf_counter() - started
    return result


def _first_missing(conn: psycopg.Connection, ordinals: list[int], start: dt.date,
                   end: dt.date) -> dt.date | None:
    """The first day in the range on which some of the segments has no recorded history."""
    row = conn.execute(
        "SELECT min(d)::date FROM generate_series(%(s)s::date, %(e)s::date, '1 day') AS d"
        " WHERE (SELECT count(*) FROM segflow.daily_metrics AS m"
        "        JOIN segflow.segments AS s USING (segment_id)"
        "        WHERE m.day = d::date AND s.ordinal = ANY(%(o)s)) < cardinality(%(o)s)",
        {"s": start, "e": end, "o": ordinals}).fetchone()
    return row[0] if row else None


def _todo(conn: psycopg.Connection, ordinals: list[int], day: dt.date,
          overwrite: bool) -> list[int]:
    """The segments whose `day` is written: those without history that day (all: overwrite)."""
    if overwrite:
        conn.execute(
            "DELETE FROM segflow.membership_events WHERE day = %s AND segment_ord = ANY(%s)",
            (day, ordinals))
        return ordinals
    have = {r[0] for r in conn.execute(
        "SELECT s.ordinal FROM segflow.daily_metrics AS m JOIN segflow.segments AS s"
        " USING (segment_id) WHERE m.day = %s AND s.ordinal = ANY(%s)", (day, ordinals))}
    return [o for o in ordinals if o not in have]


def _record(conn: psycopg.Connection, ws: Workspace, current: DaySplit, todo: list[int],
            overwrite: bool, result: BackfillResult) -> None:
    """The day's events, metrics and activity for the segments in `todo`."""
    day = current.evaluation.as_of
    mode = "overwrite" if overwrite else "keep"
    entered, left = engine.record_events(conn, day, backfilled=True, only=todo)
    result.entered += entered
    result.left += left
    result.written += engine.record_metrics(conn, ws, day, todo, backfilled=True, mode=mode)
    engine.record_activity(conn, ws, current, todo, backfilled=True, mode=mode)


def _start_chain(conn: psycopg.Connection, ws: Workspace, day: dt.date,
                 ordinals: list[int]) -> None:
    """Fill the workspace's memberships with what the events say on `day` (nothing, before a
    segment's history starts), so the next day's events continue the recorded ones."""
    conn.execute("DROP TABLE IF EXISTS _bounds")
    conn.execute("CREATE TEMP TABLE _bounds AS SELECT o AS ordinal, %s::date AS day"
                 " FROM unnest(%s::int[]) AS o", (day, ordinals))
    conn.execute(f"DELETE FROM {ws.members_table}")
    conn.execute(
        f"INSERT INTO {ws.members_table} (customer_id, segments)"
        " SELECT customer_id, array_agg(ordinal ORDER BY ordinal)"
        f" FROM ({_MEMBERS_ON.format(which='true')}) AS m GROUP BY customer_id")


_MEMBERS_ON = """
    SELECT ordinal, customer_id FROM (
        SELECT DISTINCT ON (b.ordinal, e.customer_id) b.ordinal, e.customer_id, e.net
        FROM _bounds AS b
        JOIN LATERAL (
            SELECT customer_id, day, sum(CASE WHEN entered THEN 1 ELSE -1 END) AS net
            FROM segflow.membership_events
            WHERE segment_ord = b.ordinal AND day <= b.day AND ({which})
            GROUP BY customer_id, day
            HAVING sum(CASE WHEN entered THEN 1 ELSE -1 END) <> 0
        ) AS e ON true
        ORDER BY b.ordinal, e.customer_id, e.day DESC
    ) AS last WHERE net > 0
"""

_ON_THE_DAY = """
    SELECT e.segment_ord AS ordinal, e.customer_id,
           sum(CASE WHEN e.entered THEN 1 ELSE -1 END) AS net
    FROM segflow.membership_events AS e JOIN _bounds AS b ON b.ordinal = e.segment_ord
    WHERE e.day = %(day)s AND NOT e.backfilled
    GROUP BY 1, 2 HAVING sum(CASE WHEN e.entered THEN 1 ELSE -1 END) <> 0
"""

_CHAINED = """
    SELECT x AS ordinal, m.customer_id FROM {members} AS m, unnest(m.segments) AS x
    WHERE x IN (SELECT ordinal FROM _bounds)
      AND NOT EXISTS (SELECT 1 FROM day_net AS d WHERE d.ordinal = x
                      AND d.customer_id = m.customer_id AND d.net < 0)
    UNION SELECT ordinal, customer_id FROM day_net WHERE net > 0
"""


def _join_recorded_history(conn: psycopg.Connection, ws: Workspace, day: dt.date,
                           ordinals: list[int]) -> None:
    """Make the event chain continue into recorded history that starts on `day`.

    Membership on a day is read back from the events (a customer is in a segment if their last
    day with a net change was an entry). A recorded day right after backfilled days (the day a
    segment was applied, or a run after a gap) has events relative to what the run knew, not to
    the backfilled membership of the day before: on that day, entered / left events (marked
    backfilled) bring the backfilled chain — the workspace's memberships, as of the day before —
    to the recorded membership. Written in the same transaction as the days around it.
    """
    conn.execute("DROP TABLE IF EXISTS _bounds")
    conn.execute(
        "CREATE TEMP TABLE _bounds AS"
        " SELECT s.ordinal, %(day)s::date AS day FROM segflow.segments AS s"
        " WHERE s.ordinal = ANY(%(o)s)"
        "   AND EXISTS (SELECT 1 FROM segflow.daily_metrics AS p WHERE p.segment_id = s.segment_id"
        "               AND p.day = %(day)s::date - 1 AND p.backfilled)"
        "   AND (EXISTS (SELECT 1 FROM segflow.membership_events AS e"
        "                WHERE e.segment_ord = s.ordinal AND e.day = %(day)s AND NOT e.backfilled)"
        "        OR EXISTS (SELECT 1 FROM segflow.daily_metrics AS m"
        "                   WHERE m.segment_id = s.segment_id AND m.day = %(day)s"
        "                     AND NOT m.backfilled))",
        {"o": ordinals, "day": day})
    if not conn.execute("SELECT count(*) FROM _bounds").fetchone()[0]:
        return
    conn.execute(
        "DELETE FROM segflow.membership_events AS e USING _bounds AS b"
        " WHERE e.segment_ord = b.ordinal AND e.day = b.day AND e.backfilled")
    chained = _CHAINED.format(members=ws.members_table)
    conn.execute(
        f"WITH day_net AS MATERIALIZED ({_ON_THE_DAY}),"
        f" chained AS MATERIALIZED ({chained}),"
        f" recorded AS MATERIALIZED ({_MEMBERS_ON.format(which='NOT backfilled')})"
        " INSERT INTO segflow.membership_events (day, segment_ord, customer_id, entered, backfilled)"
        " SELECT %(day)s, ordinal, customer_id, true, true"
        " FROM (SELECT * FROM recorded EXCEPT SELECT * FROM chained) AS x"
        " UNION ALL"
        " SELECT %(day)s, ordinal, customer_id, false, true"
        " FROM (SELECT * FROM chained EXCEPT SELECT * FROM recorded) AS y",
        {"day": day})
