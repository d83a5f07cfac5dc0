"""Reading results back: the segment grid, a segment's members, history and order activity.

Each function returns plain rows (dicts with stable snake_case keys) for the CLI to print as a
table, CSV or JSON.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from segflow.analytics.membership import (
    SegmentRef,
    last_recorded_day,
    members_on_sql,
    require_history,
)
from segflow.compiler.checker import did_you_mean
from segflow.errors import SegflowError

METRICS = (
    "customer_count",
    "repeat_customer_rate",
    "lifetime_value",
    "average_order_value",
    "average_order_count",
    "purchase_interval_days",
)


def _plain(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, Decimal):
            v = float(round(v, 4))
        elif isinstance(v, dt.date):
            v = v.isoformat()
        out[k] = v
    return out


def latest_day(conn: psycopg.Connection) -> dt.date | None:
    # one backward index probe per segment instead of a scan of the whole history
    row = conn.execute(
        "SELECT max(last.day) FROM segflow.segments s CROSS JOIN LATERAL"
        " (SELECT day FROM segflow.daily_metrics m WHERE m.segment_id = s.segment_id"
        "  AND NOT m.backfilled ORDER BY day DESC LIMIT 1) last"
    ).fetchone()
    day = row[0] if row else None
    if day is None:
        row = conn.execute("SELECT max(day) FROM segflow.daily_metrics").fetchone()
        day = row[0] if row else None
    return day


def segment_grid(conn: psycopg.Connection, *, day: dt.date | None = None, search: str | None = None,
                 group: str | None = None, sort: str = "id") -> tuple[dt.date | None, list[dict]]:
    """Every active segment with its six metrics on a day (default: the latest recorded)."""
    if sort.lstrip("-+") not in ("id", "title", *METRICS):
        raise SegflowError(f"cannot sort by '{sort}'{did_you_mean(sort, ('id', 'title', *METRICS))}"
                           f" (one of: id, title, {', '.join(METRICS)})")
    day = day or latest_day(conn)
    if group is not None:
        known = {r[0] for r in conn.execute("SELECT group_id FROM segflow.groups")}
        if group not in known:
            raise SegflowError(f"unknown group '{group}'{did_you_mean(group, known)}")
    rows = conn.cursor(row_factory=dict_row).execute(
        """
        SELECT s.segment_id AS id, s.title,
               coalesce(m.customer_count, 0) AS customer_count,
               m.repeat_customer_rate, m.lifetime_value, m.average_order_value,
               m.average_order_count, m.purchase_interval_days,
               coalesce(m.backfilled, false) AS backfilled,
               coalesce(gs.groups, '{}') AS groups
        FROM segflow.segments s
        LEFT JOIN segflow.daily_metrics m ON m.segment_id = s.segment_id AND m.day = %(day)s
        LEFT JOIN (SELECT segment_id, array_agg(group_id ORDER BY group_id) AS groups
                   FROM segflow.group_segments GROUP BY 1) gs ON gs.segment_id = s.segment_id
        WHERE s.retired_at IS NULL
          AND (%(search)s::text IS NULL OR s.segment_id ILIKE %(pattern)s OR s.title ILIKE %(pattern)s)
          AND (%(group)s::text IS NULL OR EXISTS (SELECT 1 FROM segflow.group_segments g
               WHERE g.segment_id = s.segment_id AND g.group_id = %(group)s))
        """,
        {"day": day, "search": search, "group": group,
         "pattern": f"%{_like_escape(search or '')}%"},
    ).fetchall()
    key = sort.lstrip("-+")  # metrics sort largest first unless "+metric"
    reverse = sort.startswith("-") or (key in METRICS and not sort.startswith("+"))
    rows.sort(key=lambda r: (r[key] is None, r[key] if r[key] is not None else 0)
              if key in METRICS else r[key])
    if reverse and key in METRICS:
        present = [r for r in rows if r[key] is not None]
        present.sort(key=lambda r: r[key], reverse=True)
        rows = present + [r for r in rows if r[key] is None]
    elif reverse:
        rows.reverse()
    return day, [_plain(r) for r in rows]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def segment_info(conn: psycopg.Connection, segment_id: str) -> dict:
    row = conn.cursor(row_factory=dict_row).execute(
        """
        SELECT s.segment_id AS id, s.ordinal, s.title, s.description, s.path, s.tag, s.list_path,
               s.created_at, s.updated_at, s.retired_at, v.source, v.compiled_sql,
               array(SELECT g.group_id FROM segflow.group_segments g
                     WHERE g.segment_id = s.segment_id ORDER BY 1) AS groups
        FROM segflow.segments s JOIN segflow.segment_versions v USING (segment_id, fingerprint)
        WHERE s.segment_id = %s
        """,
        (segment_id,),
    ).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT segment_id FROM segflow.segments")]
        raise SegflowError(f"unknown segment '{segment_id}'{did_you_mean(segment_id, known)}"
                           " (is it applied? see `seg plan`)")
    return row


MEMBER_COLUMNS = ("customer_id", "email", "first_name", "last_name", "province", "country")
_CUSTOMER = ("c.customer_id, c.email, c.first_name, c.last_name, c.province_code AS province,"
             " c.country_code AS country")


def members(conn: psycopg.Connection, segment_id: str, *, limit: int | None = None,
            offset: int = 0, day: dt.date | None = None) -> list[dict]:
    """A segment's members by customer id: now, or at the end of a recorded `day` (rebuilt from
    the membership events)."""
    info = segment_info(conn, segment_id)
    if day is None:
        query = f"""
            SELECT {_CUSTOMER}
            FROM segflow.customer_segments cs
            JOIN store.customers c USING (customer_id)
            WHERE %(ord)s = ANY(cs.segments)
            ORDER BY c.customer_id LIMIT %(limit)s OFFSET %(offset)s"""
    else:
        _require_day(conn, info, day)
        query = f"""
            SELECT {_CUSTOMER}
            FROM ({members_on_sql("day")}) AS m
            JOIN store.customers c USING (customer_id)
            ORDER BY c.customer_id LIMIT %(limit)s OFFSET %(offset)s"""
    rows = conn.cursor(row_factory=dict_row).execute(
        query, {"ord": info["ordinal"], "ords": [info["ordinal"]], "day": day, "limit": limit,
                "offset": offset}).fetchall()
    return [_plain(r) for r in rows]


def _require_day(conn: psycopg.Connection, info: dict, day: dt.date) -> None:
    require_history(conn, [SegmentRef(info["id"], info["ordinal"], info["title"],
                                      info["retired_at"] is not None)], day)


def changes(conn: psycopg.Connection, segment_id: str, day: dt.date | None = None
            ) -> tuple[dt.date, list[dict]]:
    """Who entered or left a segment on a day (default: the last recorded), from the recorded
    membership events: each customer's net change that day, entered first, by customer id."""
    info = segment_info(conn, segment_id)
    day = day or last_recorded_day(conn)
    _require_day(conn, info, day)
    rows = conn.cursor(row_factory=dict_row).execute(
        f"""
        SELECT CASE WHEN n.net > 0 THEN 'entered' ELSE 'left' END AS change, {_CUSTOMER}
        FROM (SELECT customer_id, sum(CASE WHEN entered THEN 1 ELSE -1 END) AS net
              FROM segflow.membership_events
              WHERE segment_ord = %(ord)s AND day = %(day)s
              GROUP BY customer_id HAVING sum(CASE WHEN entered THEN 1 ELSE -1 END) <> 0) AS n
        LEFT JOIN store.customers c USING (customer_id)
        ORDER BY n.net < 0, n.customer_id
        """,
        {"ord": info["ordinal"], "day": day},
    ).fetchall()
    return day, [_plain(r) for r in rows]


def recorded_span(conn: psycopg.Connection) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day with a metrics snapshot (None, None: no day recorded yet)."""
    row = conn.execute("SELECT min(day), max(day) FROM segflow.daily_metrics").fetchone()
    return (row[0], row[1]) if row else (None, None)


def require_snapshot(conn: psycopg.Connection, day: dt.date) -> None:
    """Refuse a day without a metrics snapshot: its figures were never recorded."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM segflow.daily_metrics WHERE day = %s)",
                    (day,)).fetchone()[0]:
        return
    first, last = recorded_span(conn)
    if first is None:
        raise SegflowError(f"no history recorded for {day} (no day recorded yet: the daily run "
                           "`seg run` records one)")
    if first <= day <= last:
        where = f"recorded days: {first} to {last}, with gaps"
    else:
        where = f"first recorded day: {first}, last: {last}"
    hint = " (`seg backfill` can reproduce earlier days)" if day < first else ""
    raise SegflowError(f"no history recorded for {day} ({where}){hint}")


def recorded_metrics(conn: psycopg.Connection, day: dt.date) -> dict[str, dict]:
    """The metrics recorded on a day, by segment id (segments without a snapshot that day are
    absent: a change against them is unknown, not a change from zero)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT segment_id AS id, {', '.join(METRICS)} FROM segflow.daily_metrics"
        " WHERE day = %s", (day,)).fetchall()
    return {r["id"]: _plain(r) for r in rows}


def groups(conn: psycopg.Connection, group_id: str | None = None) -> list[dict]:
    """Applied, active groups with their number of active segments (one group if asked)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        """
        SELECT g.group_id AS id, g.title, g.description,
               count(s.segment_id) AS segments
        FROM segflow.groups g
        LEFT JOIN segflow.group_segments gs USING (group_id)
        LEFT JOIN segflow.segments s ON s.segment_id = gs.segment_id AND s.retired_at IS NULL
        WHERE g.retired_at IS NULL AND (%(id)s::text IS NULL OR g.group_id = %(id)s)
        GROUP BY 1, 2, 3 ORDER BY 1
        """,
        {"id": group_id},
    ).fetchall()
    if group_id is not None and not rows:
        known = [r[0] for r in conn.execute("SELECT group_id FROM segflow.groups"
                                            " WHERE retired_at IS NULL")]
        raise SegflowError(f"unknown group '{group_id}'{did_you_mean(group_id, known)}")
    return [_plain(r) for r in rows]


def member_count(conn: psycopg.Connection, segment_id: str, day: dt.date | None = None) -> int:
    """How many members a segment has now, or had at the end of a recorded `day`."""
    info = segment_info(conn, segment_id)
    if day is not None:
        _require_day(conn, info, day)
        row = conn.execute(f"SELECT count(*) FROM ({members_on_sql('day')}) AS m",
                           {"ords": [info["ordinal"]], "day": day}).fetchone()
    else:
        row = conn.execute("SELECT count(*) FROM segflow.customer_segments"
                           " WHERE %s = ANY(segments)", (info["ordinal"],)).fetchone()
    return int(row[0]) if row else 0


def history(conn: psycopg.Connection, segment_id: str, *, since: dt.date | None = None) -> list[dict]:
    segment_info(conn, segment_id)
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT day, {', '.join(METRICS)}, backfilled FROM segflow.daily_metrics"
        " WHERE segment_id = %s AND (%s::date IS NULL OR day >= %s) ORDER BY day",
        (segment_id, since, since),
    ).fetchall()
    return [_plain(r) for r in rows]


def activity(conn: psycopg.Connection, segment_id: str, *, since: dt.date | None = None) -> list[dict]:
    segment_info(conn, segment_id)
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT day, orders, revenue, backfilled FROM segflow.daily_activity"
        " WHERE segment_id = %s AND (%s::date IS NULL OR day >= %s) ORDER BY day",
        (segment_id, since, since),
    ).fetchall()
    return [_plain(r) for r in rows]
