"""The sections of the segment and group pages: each one a template partial fed by one provider.

A section whose provider is None renders "not available yet" with what will bring it. Plugging a
new figure in is two small steps:

1. write a provider `(conn, subject_id, view) -> dict` (read-only; it runs inside the page's
   read-only transaction) and set it as the section's `provide` below;
2. either return the generic shape that `sections/tables.html` draws —
   `{"tables": [{"title", "columns": [(key, label), ...], "rows": [dict, ...], "note"}],
   "charts": [Markup], "form": [(name, label, value), ...]}` — or point `template` at a partial
   of your own under templates/sections/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from segflow.analytics import reports
from segflow.web import analytics, charts, format, tag_sync
from segflow.web.highlight import highlight
from segflow.web.view import View

Provider = Callable[[psycopg.Connection, str, View], dict]
PAGE_SIZE = 50


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    provide: Provider | None
    template: str = "sections/tables.html"
    pending: str = ""  # shown while `provide` is None: what this section will show
    command: str = ""  # ... and its command-line counterpart


# ---- segment page -------------------------------------------------------------------------

def definition(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    info = reports.segment_info(conn, segment_id)
    return {"path": info["path"], "list_path": info["list_path"],
            "source": highlight(info["source"], lambda ref: f"{ref}.html"),  # a sibling page
            "sql": info["compiled_sql"]}


def _around(rows: list[dict], key_day: str, days: int) -> dict | None:
    """The row recorded `days` before the day `key_day` (None when that day has no row)."""
    wanted = (dt.date.fromisoformat(key_day) - dt.timedelta(days=days)).isoformat()
    return next((r for r in reversed(rows) if r["day"] == wanted), None)


def metric_history(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    rows = reports.history(conn, segment_id)
    cards = []
    if rows:
        last = rows[-1]
        day_before, week_before = _around(rows, last["day"], 1), _around(rows, last["day"], 7)
        for key in reports.METRICS:
            cards.append({
                "key": key, "label": format.LABELS[key], "value": format.value(last[key], key),
                "changes": [(name, format.change(last[key], (row or {}).get(key), key),
                             format.trend(last[key], (row or {}).get(key), key))
                            for name, row in (("day", day_before), ("week", week_before))],
            })
    chart_list = []
    for key in reports.METRICS:
        points = [charts.Point(dt.date.fromisoformat(r["day"]), r[key], r["backfilled"])
                  for r in rows]
        chart_list.append((format.LABELS[key], charts.line_chart(
            key, format.LABELS[key], points, lambda v, k=key: format.value(v, k))))
    return {"day": rows[-1]["day"] if rows else None, "cards": cards, "charts": chart_list,
            "days": len(rows), "backfilled": sum(r["backfilled"] for r in rows)}


def order_activity(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    rows = reports.activity(conn, segment_id)
    chart_list = []
    for key in ("orders", "revenue"):
        points = [charts.Point(dt.date.fromisoformat(r["day"]), r[key], r["backfilled"])
                  for r in rows]
        chart_list.append((format.LABELS[key], charts.bar_chart(
            f"activity_{key}", format.LABELS[key], points, lambda v, k=key: format.value(v, k))))
    totals = {"orders": sum(r["orders"] for r in rows), "revenue": sum(r["revenue"] for r in rows)}
    return {"charts": chart_list, "days": len(rows),
            "totals": {k: format.value(v, k) for k, v in totals.items()}}


def member_list(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    total = reports.member_count(conn, segment_id)
    if not view.members:
        return {"total": total, "rows": None, "page": 1, "pages": 1}
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    try:
        page = min(max(int(view.param("page", "1")), 1), pages)
    except ValueError:
        page = 1
    rows = reports.members(conn, segment_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return {"total": total, "rows": rows, "page": page, "pages": pages, "size": PAGE_SIZE}


SEGMENT_SECTIONS: tuple[Section, ...] = (
    Section("metrics", "Metrics", metric_history, "sections/metrics.html"),
    Section("definition", "Definition", definition, "sections/definition.html"),
    Section("activity", "Daily order activity", order_activity, "sections/activity.html"),
    Section("revenue", "Revenue tracking", analytics.revenue),
    Section("features", "Features", analytics.features_on_request),
    Section("tag_sync", "Tag sync", tag_sync.tag_sync),
    Section("changes", "Entered and left", analytics.changes),
    Section("members", "Members", member_list, "sections/members.html"),
)


# ---- group page ---------------------------------------------------------------------------

def group_segments(conn: psycopg.Connection, group_id: str, view: View) -> dict:
    from segflow.web.grid import grid

    return grid(conn, View(params={"group": group_id, "sort": view.param("sort")},
                           static=view.static), all_rows=False)


GROUP_SECTIONS: tuple[Section, ...] = (
    Section("segments", "Segments", group_segments, "sections/group_segments.html"),
    Section("journey", "Journey", analytics.journey),
    Section("overlap", "Overlap", analytics.overlap),
)

# The features page of a segment (linked from its page: too slow to compute with it).
FEATURES_SECTIONS: tuple[Section, ...] = (Section("features", "Features", analytics.features),)


def run_sections(conn: psycopg.Connection, sections: tuple[Section, ...], subject_id: str,
                 view: View) -> list[dict]:
    """Each section's partial with its data; a missing provider renders as not available."""
    out = []
    for s in sections:
        if s.provide is None:
            out.append({"key": s.key, "title": s.title, "template": "sections/unavailable.html",
                        "data": {"pending": s.pending, "command": s.command}})
        else:
            out.append({"key": s.key, "title": s.title, "template": s.template,
                        "data": s.provide(conn, subject_id, view)})
    return out


def page_status(parts: list[dict]) -> int:
    """400 when a section could not honour its parameters (it says why in place), else 200."""
    return max((part["data"].get("status", 200) for part in parts), default=200)

