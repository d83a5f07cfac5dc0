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

from segflow.compiler.evaluation import Evaluation
from segflow.errors import SegflowError
from segflow.runtime import engine, locking
from segflow.runtime.daysplit import DaySplit, split
from segflow.runtime.engine import Workspace
from segflow.runtime.shopify.outbox import enqueue_sync
from segflow.runtime.state import applied_project, bump_revision, ordinals, read_state

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
            say: Say | None = None, lock_timeout: float | None = None) -> RunResult:
    say = say or (lambda _msg: None)
    started = time.perf_counter()
    with conn.transaction():
        locking.acquire(conn, timeout_s=lock_timeout, on_wait=say)
        state = read_state(conn)
        if state.last_run_day and day < state.last_run_day:
            raise SegflowError(
                f"the daily run already recorded {state.last_run_day}; it cannot go back to "
                f"{day} (history for earlier days is written by `seg backfill`)"
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
    enqueue_sync(conn, f"run {day}")  # tag operations for the day's changes (shopify/outbox.py)
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
