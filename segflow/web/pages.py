"""Every page of the dashboard as a function of the database (and the saved plan): one place that
both the live server and the static site call."""

from __future__ import annotations

import difflib
from pathlib import Path

import psycopg

from segflow.analytics import reports
from segflow.errors import SegflowError
from segflow.web import sections
from segflow.web.grid import grid
from segflow.web.view import NotFound, Page, View


def _common(conn: psycopg.Connection, view: View) -> dict:
    row = conn.execute("SELECT last_run_day, revision FROM segflow.state").fetchone()
    last_run, revision = row if row else (None, 0)
    return {"last_run_day": last_run.isoformat() if last_run else None, "revision": revision,
            "has_plan": saved_plan(view) is not None, "static": view.static}


def grid_page(conn: psycopg.Connection, view: View) -> Page:
    return Page("grid.html", {**_common(conn, view), "grid": grid(conn, view)})


def groups_page(conn: psycopg.Connection, view: View) -> Page:
    return Page("groups.html", {**_common(conn, view), "groups": reports.groups(conn)})


def group_page(conn: psycopg.Connection, group_id: str, view: View) -> Page:
    try:
        (group,) = reports.groups(conn, group_id)
    except SegflowError as exc:
        raise NotFound(exc.message) from None
    parts = sections.run_sections(conn, sections.GROUP_SECTIONS, group_id, view)
    return Page("group.html", {**_common(conn, view), "group": group, "sections": parts},
                depth=1, status=sections.page_status(parts))


def _segment(conn: psycopg.Connection, segment_id: str) -> dict:
    try:
        info = reports.segment_info(conn, segment_id)
    except SegflowError as exc:
        raise NotFound(exc.message) from None
    keep = ("id", "title", "description", "path", "tag", "list_path", "groups")
    segment = {k: info[k] for k in keep}
    segment["retired"] = info["retired_at"] is not None
    segment["created"] = info["created_at"].date().isoformat()
    segment["updated"] = info["updated_at"].date().isoformat()
    return segment


def segment_page(conn: psycopg.Connection, segment_id: str, view: View) -> Page:
    segment = _segment(conn, segment_id)
    parts = sections.run_sections(conn, sections.SEGMENT_SECTIONS, segment_id, view)
    return Page("segment.html", {**_common(conn, view), "segment": segment, "sections": parts},
                depth=1, status=sections.page_status(parts))


def features_page(conn: psycopg.Connection, segment_id: str, view: View) -> Page:
    """A segment's features on a page of their own (the live segment page links to it)."""
    segment = _segment(conn, segment_id)
    parts = sections.run_sections(conn, sections.FEATURES_SECTIONS, segment_id, view)
    return Page("features.html", {**_common(conn, view), "segment": segment, "sections": parts},
                depth=2, status=sections.page_status(parts))


def saved_plan(view: View) -> Path | None:
    path = view.plan_path
    return path if path is not None and path.is_file() else None


def plan_page(conn: psycopg.Connection, view: View) -> Page:
    from pydantic import ValidationError

    from segflow.engines.postgres.state import read_state
    from segflow.lifecycle.plan_model import Plan

    path = saved_plan(view)
    if path is None:
        raise NotFound("no saved plan: save one with `seg plan --out plan.json`")
    try:
        plan = Plan.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError) as exc:
        raise NotFound(f"{path.name} is not a segflow plan: {str(exc).splitlines()[0]}") from None
    stale = plan.base_fingerprint != read_state(conn).fingerprint()
    diffs = {c.id: "".join(difflib.unified_diff(
        (c.old_source or "").splitlines(keepends=True),
        (c.new_source or "").splitlines(keepends=True), "applied", "files"))
        for c in plan.changes if c.action == "update"}
    return Page("plan.html", {**_common(conn, view), "plan": plan, "plan_file": path.name,
                              "stale": stale, "counts": plan.counts(), "diffs": diffs,
                              "tag_ops": plan.tag_operations()})
