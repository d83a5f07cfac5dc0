"""Go back from a wrong day: remove every day the daily run recorded after day D.

`seg run --date` for a wrong day (a future one, forced; a typo) records memberships, events,
metrics, activity and tag operations for it, and every later plain `seg run` is refused as
going back. `rewind(conn, D)` undoes the days after D, in one transaction under the run lock,
so that the state is the one the days never being run would have left:

- the entered / left events, metrics and activity of the days after D are deleted (backfilled
  rows of those days too); the run records of those days are kept, marked `rewound`;
- the current memberships are restored from the events up to D (a customer is a member when
  their last net change on or before D was an entry: analytics/membership.py);
- the state's last run day becomes the last day run on or before D, its revision moves (so
  plans made before are stale), and the next run rebuilds its facts from the orders;
- the tag outbox is brought to the restored memberships by the same diff the run uses: a
  queued operation not sent yet is cancelled, one already sent gets a compensating one.

A rewind never crosses a `seg apply` that changed segments after D (its events are part of
those days, and undoing half of an apply is not a state anyone had): it is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from segflow import destinations
from segflow.analytics.membership import members_on_sql
from segflow.destinations.base import Queued
from segflow.engines.postgres import locking
from segflow.engines.postgres.state import read_state
from segflow.errors import SegflowError


@dataclass(frozen=True)
class Rewound:
    """What a rewind removed (or, with `dry_run`, would remove)."""

    to_day: dt.date
    days: list[dt.date]           # the recorded days removed
    last_run_day: dt.date | None  # the state's last run day afterwards
    events: int
    metrics: int
    activity: int
    tags: Queued | None           # None on a dry run


_HISTORY = ("membership_events", "daily_metrics", "daily_activity")


def rewind(conn: psycopg.Connection, to_day: dt.date, *, dry_run: bool = False,
           lock_timeout: float | None = None,
           say: Callable[[str], None] | None = None) -> Rewound:
    """Remove the days recorded after `to_day`; see the module docstring for what that means."""
    with conn.transaction():
        locking.acquire(conn, timeout_s=lock_timeout, on_wait=say)
        last = read_state(conn).last_run_day
        if last is None or last <= to_day:
            raise SegflowError(f"nothing to rewind: the daily run recorded no day after {to_day}"
                               + (f" (the last one is {last})" if last else ""))
        _refuse_crossing_an_apply(conn, to_day)
        days = [r[0] for r in conn.execute(
            "SELECT DISTINCT day FROM segflow.runs WHERE kind = 'run' AND status = 'ok'"
            " AND day > %s ORDER BY day", (to_day,))]
        counts = [conn.execute(f"SELECT count(*) FROM segflow.{t} WHERE day > %s",
                               (to_day,)).fetchone()[0] for t in _HISTORY]
        previous = conn.execute(
            "SELECT max(day) FROM segflow.runs WHERE kind = 'run' AND status = 'ok'"
            " AND day <= %s", (to_day,)).fetchone()[0]
        if dry_run:
            return Rewound(to_day, days, previous, *counts, tags=None)
        for table in _HISTORY:
            conn.execute(f"DELETE FROM segflow.{table} WHERE day > %s", (to_day,))
        _restore_memberships(conn, to_day)
        conn.execute("UPDATE segflow.runs SET status = 'rewound' WHERE kind = 'run'"
                     " AND status = 'ok' AND day > %s", (to_day,))
        conn.execute("UPDATE segflow.state SET last_run_day = %s, revision = revision + 1",
                     (previous,))
        conn.execute("UPDATE segflow.facts_state SET valid = false")  # the next run rebuilds
        tags = destinations.queue_all(conn, f"rewind to {to_day}")
        result = Rewound(to_day, days, previous, *counts, tags=tags)
        conn.execute(
            "INSERT INTO segflow.runs (kind, day, finished_at, status, detail)"
            " VALUES ('rewind', %s, now(), 'ok', %s)",
            (to_day, Jsonb({"days": [d.isoformat() for d in days], "events": result.events,
                            "metrics": result.metrics, "activity": result.activity,
                            "tag_adds": tags.adds, "tag_removes": tags.removes,
                            "tags_cancelled": tags.cancelled})))
    return result


def _refuse_crossing_an_apply(conn: psycopg.Connection, to_day: dt.date) -> None:
    row = conn.execute(
        "SELECT max(day) FROM segflow.runs WHERE kind = 'apply' AND status = 'ok' AND day > %s"
        " AND coalesce((detail->>'created')::int, 0) + coalesce((detail->>'updated')::int, 0)"
        "     + coalesce((detail->>'retired')::int, 0) > 0", (to_day,)).fetchone()
    if row and row[0]:
        raise SegflowError(
            f"cannot rewind to {to_day}: a `seg apply` changed segments as of {row[0]}, after "
            f"it, and its membership changes are part of those days; rewind to {row[0]} or "
            "later")


def _restore_memberships(conn: psycopg.Connection, day: dt.date) -> None:
    """`customer_segments` as the events up to `day` record it."""
    ords = [r[0] for r in conn.execute(
        "SELECT ordinal FROM segflow.segments WHERE retired_at IS NULL")]
    conn.execute("DELETE FROM segflow.customer_segments")
    conn.execute(
        "INSERT INTO segflow.customer_segments (customer_id, segments)"
        " SELECT customer_id, array_agg(segment_ord ORDER BY segment_ord)"
        f" FROM ({members_on_sql('until')}) AS m GROUP BY customer_id",
        {"ords": ords, "until": day})
