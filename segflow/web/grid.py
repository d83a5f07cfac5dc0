"""The segment grid: every segment with its six metrics and their change since the previous day
and week; search, group filter and sort run on the server (query parameters), so the table reads
without JavaScript."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import psycopg
from markupsafe import Markup, escape

from segflow.analytics import reports
from segflow.errors import SegflowError
from segflow.web import format
from segflow.web.view import BadRequest, View

COLUMNS = ("id", "title", *reports.METRICS)


def _by_id(conn: psycopg.Connection, day: dt.date) -> dict[str, dict]:
    """The metrics recorded on an earlier day: a segment without a snapshot that day (the first
    recorded day, a gap) has no change to show, not a change from zero."""
    return reports.recorded_metrics(conn, day)


def grid(conn: psycopg.Connection, view: View, *, all_rows: bool = True) -> dict:
    """The grid's rows for the view's search / group / sort parameters.

    With `all_rows`, rows that the search or group filter out are kept but marked hidden (the
    HTML `hidden` attribute hides them without JavaScript; the page's script can show them again
    as the filter is edited in place).
    """
    search = view.param("q").strip() or None
    group = view.param("group").strip() or None
    sort = view.param("sort").strip() or "id"
    try:
        day, rows = reports.segment_grid(conn, search=None if all_rows else search,
                                         group=None if all_rows else group, sort=sort)
        matching = None
        if all_rows and (search or group):
            matching = {r["id"] for r in reports.segment_grid(conn, search=search, group=group)[1]}
    except SegflowError as exc:
        raise BadRequest(exc.message) from None
    earlier = {}
    if day is not None and rows:
        earlier = {"day": _by_id(conn, day - dt.timedelta(days=1)),
                   "week": _by_id(conn, day - dt.timedelta(days=7))}
    for row in rows:
        row["hidden"] = matching is not None and row["id"] not in matching
        row["cells"] = Markup("").join(
            metric_cell(row[key], key, [by_id.get(row["id"], {}).get(key)
                                        for by_id in earlier.values()])
            for key in reports.METRICS)
    return {"day": day.isoformat() if day else None, "rows": rows, "search": search or "",
            "group": group or "", "sort": sort, "columns": _columns(sort, search, group),
            "shown": sum(not r["hidden"] for r in rows), "groups": reports.groups(conn)}


def metric_cell(now: float | int | None, key: str, before: list) -> Markup:
    """One metric's table cell with its changes since the previous day and week.

    Built here rather than in the template: 500 segments x 6 metrics made the template loop
    the grid's largest cost (see docs/benchmarks.md, Dashboard).
    """
    changes = "".join(  # "1d" / "7d" are explained once, above the table
        f'<span class="d {format.trend(now, then, key)}">{short} {text}</span>'
        for short, then in zip(("1d", "7d"), before, strict=False)
        if (text := format.change(now, then, key)))
    raw = "" if now is None else now
    return Markup(f'<td class="num" data-value="{raw}">{escape(format.value(now, key))}'
                  f"{changes}</td>")


def _columns(sort: str, search: str | None, group: str | None) -> list[dict]:
    """Header links: a click sorts by the column; a second click reverses it."""
    key, descending = sort.lstrip("-+"), sort.startswith("-")
    metric_default_desc = key in reports.METRICS and not sort.startswith("+")
    out = []
    for col in COLUMNS:
        label = format.LABELS.get(col, col.title())
        current = col == key
        if col in reports.METRICS:
            is_desc = current and metric_default_desc
            next_sort = f"+{col}" if is_desc else col
        else:
            is_desc = current and descending
            next_sort = col if is_desc else (f"-{col}" if current else col)
        query = urlencode({k: v for k, v in (("q", search), ("group", group), ("sort", next_sort))
                           if v})
        out.append({"key": col, "label": label, "href": f"?{query}", "current": current,
                    "direction": ("descending" if is_desc else "ascending") if current else "none",
                    "numeric": col in reports.METRICS})
    return out
