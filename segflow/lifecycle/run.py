"""The daily run: evaluate every applied segment for a day and record what changed.

All-or-nothing: one transaction under the run lock. A day before the last recorded run is
refused (its history would be rewritten out of order): that is what `seg backfill` is for.
Re-running a day writes nothing new unless the store data changed in between.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from segflow import destinations
from segflow.compiler.evaluation import Evaluation, zone
from segflow.compiler.incremental import DaySplit, split
from segflow.engines.postgres import daily as engine
from segflow.engines.postgres import locking
from segflow.engines.postgres.daily import Workspace
from segflow.engines.postgres.state import applied_project, bump_revision, ordinals, read_state
from segflow.errors import SegflowError
from segflow.lifecycle.killpoints import pause_point

Say = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    day: dt.date
    segments: int
    entered: int
    left: int
    snapshots: int
    seconds: float

    @property
    def wrote(self) -> bool:
        return bool(self.entered or self.left or self.snapshots)


def run_day(conn: psycopg.Connection, day: dt.date, timezone: str, root: Path, *,
            say: Say | None = None, lock_timeout: float | None = None,
            allow_future: bool = False) -> RunResult:
    """Record `day` (a day after today in the store's zone only with `allow_future`)."""
    say = say or (lambda _msg: None)
    started = time.perf_counter()
    today = dt.datetime.now(zone(timezone)).date()
    if day > today and not allow_future:
        raise SegflowError(
            f"{day} is after today ({today} in the store's time zone, {timezone}): a run for a "
            "day that has not happened records memberships and tag changes nobody made "
            f"(customers churned, tags removed); `seg run --date {day} --force-future` runs it "
            "anyway, and `seg rewind --to DAY` removes recorded days after DAY")
    with conn.transaction():
        locking.acquire(conn, timeout_s=lock_timeout, on_wait=say)
        state = read_state(conn)
        if state.last_run_day and day < state.last_run_day:
            raise SegflowError(
                f"the daily run already recorded {state.last_run_day}; it cannot go back to "
                f"{day} (history for earlier days is written by `seg backfill`; if "
                f"{state.last_run_day} was recorded by mistake, `seg rewind --to {day}` removes "
                f"the days after {day})"
            )
        if not state.active:
            raise SegflowError("no segments applied yet: run `seg apply` first")
        project = applied_project(state, root)
        ords = ordinals(state)
        current = split(project, Evaluation(day, timezone))
        ws = Workspace.persistent()
        base = _incremental_base(conn, current, state.last_run_day)
        if base is None:
            say(f"computing every customer's facts as of {day} and evaluating {len(ords)} segments")
            conn.execute("DELETE FROM segflow.dirty_customers")
            step = engine.rebuild(conn, ws, current, ords)
        else:
            previous = split(project, Evaluation(base, timezone), like=current)
            say(f"updating customer facts since {base} and evaluating {len(ords)} segments")
            changed = engine.changed_between(previous, current, written=True)
            step = engine.advance(conn, ws, current, previous, ords, changed)
        conn.execute("UPDATE segflow.facts_state SET signature = %s, as_of = %s, valid = true",
                     (current.signature(), day))
        entered, left = engine.record_events(conn, day)
        say("recording metrics and order activity")
        ordered = sorted(ords.values())
        snapshots = engine.record_metrics(conn, ws, day, ordered)
        snapshots += engine.record_activity(conn, ws, current, ordered)
        pause_point("run:memberships")
        # the day's tag operations, in the same transaction as the memberships they follow (a
        # crash at any moment leaves both or neither); on a re-run this also queues what a
        # crash of an older segflow, which queued after the commit, left out (shopify/outbox.py)
        destinations.queue_all(conn, f"run {day}")
        pause_point("run:queued")
        result = RunResult(day, len(ords), entered, left, snapshots,
                           time.perf_counter() - started)
        if not result.wrote and state.last_run_day == day:
            return result  # a same-day re-run that found nothing new records nothing
        bump_revision(conn, last_run_day=day)
        conn.execute(
            "INSERT INTO segflow.runs (kind, day, finished_at, status, segments, detail)"
            " VALUES ('run', %s, now(), 'ok', %s, %s)",
            (day, len(ords), Jsonb({"entered": entered, "left": left, "snapshots": snapshots,
                                    "mode": step.mode, "recomputed": step.recomputed})),
        )
    pause_point("run:committed")
    return result


def _incremental_base(conn: psycopg.Connection, current: DaySplit,
                      last_run_day: dt.date | None) -> dt.date | None:
    """The day the persisted facts and memberships can be advanced from, if any."""
    signature, as_of, valid = conn.execute(
        "SELECT signature, as_of, valid FROM segflow.facts_state").fetchone()
    exists = conn.execute("SELECT to_regclass('segflow.customer_facts') IS NOT NULL").fetchone()[0]
    if (valid and exists and signature == current.signature() and as_of is not None
            and as_of == last_run_day and as_of <= current.evaluation.as_of):
        return as_of
    return None
