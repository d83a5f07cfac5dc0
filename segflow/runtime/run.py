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
from segflow.compiler.query import compile_project
from segflow.errors import SegflowError
from segflow.runtime import evaluate, locking
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
        ev = Evaluation(day, timezone)
        compiled = compile_project(project, ev)
        ords = ordinals(state)
        say(f"computing customer facts as of {day}")
        evaluate.build_facts(conn, compiled)
        say(f"evaluating {len(ords)} segments")
        evaluate.build_members(conn, compiled, ords)
        every = [s.ordinal for s in state.segments.values()]
        entered, left = evaluate.record_changes(conn, day, every)
        say("recording metrics and order activity")
        snapshots = evaluate.record_snapshots(conn, ev, sorted(ords.values()))
        result = RunResult(day, len(ords), entered, left, snapshots,
                           time.perf_counter() - started)
        if not result.wrote and state.last_run_day == day:
            return result  # a same-day re-run that found nothing new records nothing
        bump_revision(conn, last_run_day=day)
        conn.execute(
            "INSERT INTO segflow.runs (kind, day, finished_at, status, segments, detail)"
            " VALUES ('run', %s, now(), 'ok', %s, %s)",
            (day, len(ords), Jsonb({"entered": entered, "left": left, "snapshots": snapshots})),
        )
    enqueue_sync(conn, f"run {day}")  # tag operations for the day's changes (shopify/outbox.py)
    return result
