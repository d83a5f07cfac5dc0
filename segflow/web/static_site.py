"""`seg report`: the dashboard's pages written as a static site.

Links are relative, so the folder works opened from disk (file://) and published anywhere
(GitHub Pages, an artifact). The site is built in a sibling folder and moved into place, so a
failure leaves the previous report whole; a folder that holds anything but an earlier report is
never overwritten.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from segflow.errors import SegflowError
from segflow.runtime import reports
from segflow.web import pages
from segflow.web.render import STATIC_FILES, render, static_file
from segflow.web.view import Page, View

MARKER = ".segflow-report"


@dataclass(frozen=True)
class Report:
    path: Path
    pages: int


def site_pages(conn: psycopg.Connection, view: View) -> list[tuple[str, Page]]:
    """Every page of the site with its relative path."""
    out = [("index.html", pages.grid_page(conn, view)),
           ("groups.html", pages.groups_page(conn, view))]
    for group in reports.groups(conn):
        out.append((f"groups/{_safe(group['id'])}.html", pages.group_page(conn, group["id"], view)))
    for row in reports.segment_grid(conn)[1]:
        out.append((f"segments/{_safe(row['id'])}.html",
                    pages.segment_page(conn, row["id"], view)))
    if pages.saved_plan(view) is not None:
        out.append(("plan.html", pages.plan_page(conn, view)))
    return out


def _safe(name: str) -> str:
    if not re.fullmatch(r"\w+", name):  # ids are rule-language names; anything else is a bug
        raise ValueError(f"unexpected id {name!r}")
    return name


def write_report(conn: psycopg.Connection, out: Path, view: View) -> Report:
    """Render every page into `out` (replacing an earlier report there)."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise SegflowError(f"{out} exists and is not an earlier segflow report; "
                           "choose a new or empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        site = site_pages(conn, view)
        for rel, page in site:
            target = build / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(page), encoding="utf-8")
        (build / "static").mkdir()
        for name in STATIC_FILES:
            (build / "static" / name).write_bytes(static_file(name))
        (build / MARKER).write_text("written by `seg report`; the folder is replaced by the next "
                                    "one\n", encoding="utf-8")
        build.chmod(0o755)
        if out.exists():
            shutil.rmtree(out)
        build.rename(out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return Report(out, len(site))
