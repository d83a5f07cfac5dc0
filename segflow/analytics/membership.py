"""Who was in a segment on a past day, rebuilt from the recorded membership events.

`segflow.membership_events` holds one row per (day, segment, customer) change, written by the
daily run, apply and backfill. A customer is a member at the end of day d when their last net
change for the segment on or before d is an entry. Several events on one day (a run, then an
apply the same day) alternate, so their sum (+1 entered, -1 left) is the day's net change: +1 in,
-1 out, 0 back where the day started (ignored).

Every query here is one set-based statement; the SQL fragments are shared by the revenue,
features, journey and overlap reports, which embed them as CTEs. Parameters are always
`%(name)s` placeholders, never values in the text.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from segflow.compiler.checker import did_you_mean
from segflow.errors import SegflowError


@dataclass(frozen=True)
class SegmentRef:
    """An applied segment (active or retired: its history is kept)."""

    id: str
    ordinal: int
    title: str
    retired: bool


@dataclass(frozen=True)
class HistoryWindow:
    """The days a segment's membership is known: from its first recorded day to the last day
    the runtime recorded (a later day is not known yet). Both None: no history at all."""

    first: dt.date | None
    last: dt.date | None

    def covers(self, day: dt.date) -> bool:
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def as_dict(self) -> dict:
        return {"first": _iso(self.first), "last": _iso(self.last)}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def net_changes_sql(day_param: str = "until") -> str:
    """Net change per (segment, customer, day) up to the day `%(<day_param>)s`, for the
    ordinals in `%(ords)s`: +1 entered, -1 left."""
    return f"""
    SELECT segment_ord, customer_id, day, sign(sum(CASE WHEN entered THEN 1 ELSE -1 END)) AS net
    FROM segflow.membership_events
    WHERE segment_ord = ANY(%(ords)s) AND day <= %({day_param})s
    GROUP BY segment_ord, customer_id, day
    HAVING sum(CASE WHEN entered THEN 1 ELSE -1 END) <> 0
    """


def members_on_sql(day_param: str = "until") -> str:
    """(segment_ord, customer_id): the members at the end of the day `%(<day_param>)s`."""
    return f"""
    SELECT segment_ord, customer_id FROM (
        SELECT DISTINCT ON (segment_ord, customer_id) segment_ord, customer_id, net
        FROM ({net_changes_sql(day_param)}) AS n
        ORDER BY segment_ord, customer_id, day DESC
    ) AS last_change
    WHERE net > 0
    """


MEMBERS_ON = members_on_sql()

# Membership spells overlapping [%(since)s, %(until)s]: a member at the end of every day d with
# since <= d < until (until NULL: still a member on %(until)s).
SPELLS = f"""
SELECT segment_ord, customer_id, since, until FROM (
    SELECT segment_ord, customer_id, net, day AS since,
           lead(day) OVER (PARTITION BY segment_ord, customer_id ORDER BY day) AS until
    FROM ({net_changes_sql()}) AS n
) AS changes
WHERE net > 0 AND (until IS NULL OR until > %(since)s)
"""


# Sorting and hashing a year of events or every order line fits in memory with this (the
# default 4MB spilled to disk and took 2-3x longer at 100k customers); local to the report.
WORK_MEM = "64MB"


@contextmanager
def consistent_read(conn: psycopg.Connection) -> Iterator[None]:
    """One read-only snapshot for a report's few statements, so that a daily run committing
    meanwhile cannot make its parts disagree. Inside a caller's transaction, that one is used."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        yield
        return
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield


P = ParamSpec("P")
R = TypeVar("R")


def read_consistently(report: Callable[P, R]) -> Callable[P, R]:
    """Run a report (whose first argument is the connection) inside `consistent_read`."""

    @functools.wraps(report)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with consistent_read(args[0]):  # type: ignore[arg-type]
            return report(*args, **kwargs)

    return wrapper


def resolve_segments(conn: psycopg.Connection, segment_ids: list[str]) -> list[SegmentRef]:
    """The applied segments named, in the order given; an unknown name is an error."""
    known = {
        row[0]: SegmentRef(row[0], row[1], row[2], row[3])
        for row in conn.execute("SELECT segment_id, ordinal, title, retired_at IS NOT NULL"
                                " FROM segflow.segments")
    }
    out = []
    for sid in segment_ids:
        if sid not in known:
            raise SegflowError(f"unknown segment '{sid}'{did_you_mean(sid, known)}"
                               " (is it applied? see `seg plan`)")
        out.append(known[sid])
    return out


def resolve_group(conn: psycopg.Connection, group_id: str) -> list[SegmentRef]:
    """The segments of an applied group, sorted by id; an unknown or empty group is an error."""
    groups = {r[0] for r in conn.execute(
        "SELECT group_id FROM segflow.groups WHERE retired_at IS NULL")}
    if group_id not in groups:
        raise SegflowError(f"unknown group '{group_id}'{did_you_mean(group_id, groups)}")
    ids = [r[0] for r in conn.execute(
        "SELECT segment_id FROM segflow.group_segments WHERE group_id = %s ORDER BY 1",
        (group_id,))]
    if not ids:
        raise SegflowError(f"group '{group_id}' has no segments")
    return resolve_segments(conn, ids)


def last_recorded_day(conn: psycopg.Connection) -> dt.date:
    """The last day the daily run recorded: the default day of the analytics."""
    row = conn.execute("SELECT last_run_day FROM segflow.state").fetchone()
    if row is None or row[0] is None:
        raise SegflowError("no daily run recorded yet: run `seg run` first (or give --date)")
    return row[0]


def history_windows(conn: psycopg.Connection,
                    segments: list[SegmentRef]) -> dict[str, HistoryWindow]:
    """Each segment's history window: its first day with events or a snapshot, to the last
    day recorded for any segment."""
    rows = conn.execute(
        """
        SELECT s.segment_id,
               least((SELECT min(day) FROM segflow.membership_events e
                      WHERE e.segment_ord = s.ordinal),
                     (SELECT min(day) FROM segflow.daily_metrics m
                      WHERE m.segment_id = s.segment_id)),
               greatest((SELECT max(day) FROM segflow.membership_events e
                         WHERE e.segment_ord = s.ordinal),
                        (SELECT max(day) FROM segflow.daily_metrics m
                         WHERE m.segment_id = s.segment_id),
                        (SELECT last_run_day FROM segflow.state))
        FROM segflow.segments AS s
        WHERE s.segment_id = ANY(%s)
        """,
        ([s.id for s in segments],),
    ).fetchall()
    found = {sid: HistoryWindow(first, last if first else None) for sid, first, last in rows}
    return {s.id: found.get(s.id, HistoryWindow(None, None)) for s in segments}


def require_history(conn: psycopg.Connection, segments: list[SegmentRef],
                    *days: dt.date) -> None:
    """Refuse a day outside a segment's history: its membership that day is not known."""
    windows = history_windows(conn, segments)
    for seg in segments:
        window = windows[seg.id]
        for day in days:
            if window.covers(day):
                continue
            if window.first is None:
                raise SegflowError(f"segment '{seg.id}' has no membership history yet: it is "
                                   "recorded by `seg run` (or reproduced by `seg backfill`)")
            raise SegflowError(
                f"segment '{seg.id}' has no membership history for {day}: its history covers "
                f"{window.first} to {window.last}"
                + (" (`seg backfill` can reproduce earlier days)" if day < window.first else ""))


def recorded_days(conn: psycopg.Connection, segment: SegmentRef, start: dt.date,
                  end: dt.date) -> dict[dt.date, bool]:
    """Days in [start, end] on which a run, apply or backfill recorded something for the
    segment (a snapshot or a membership change), each with whether only a backfill did."""
    return dict(conn.execute(
        "SELECT day, bool_and(backfilled) FROM ("
        " SELECT day, backfilled FROM segflow.daily_metrics WHERE segment_id = %(id)s"
        " AND day BETWEEN %(start)s AND %(end)s"
        " UNION ALL SELECT day, backfilled FROM segflow.membership_events"
        " WHERE segment_ord = %(ord)s AND day BETWEEN %(start)s AND %(end)s"
        ") AS r GROUP BY day",
        {"id": segment.id, "ord": segment.ordinal, "start": start, "end": end}).fetchall())


def members_on(conn: psycopg.Connection, segments: list[SegmentRef],
               day: dt.date) -> dict[str, set[int]]:
    """The members of each segment at the end of `day`, from the history (small segments:
    this returns every customer id)."""
    by_ord = {s.ordinal: s.id for s in segments}
    out: dict[str, set[int]] = {s.id: set() for s in segments}
    for ordinal, customer_id in conn.execute(
            MEMBERS_ON, {"ords": list(by_ord), "until": day}):
        out[by_ord[ordinal]].add(customer_id)
    return out


def member_counts(conn: psycopg.Connection, segments: list[SegmentRef],
                  day: dt.date) -> dict[str, int]:
    """How many members each segment had at the end of `day`, from the history."""
    by_ord = {s.ordinal: s.id for s in segments}
    counts = dict.fromkeys(by_ord.values(), 0)
    for ordinal, n in conn.execute(
            f"SELECT segment_ord, count(*) FROM ({MEMBERS_ON}) AS m GROUP BY 1",
            {"ords": list(by_ord), "until": day}):
        counts[by_ord[ordinal]] = n
    return counts
