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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg

from segflow.analytics import reports
from segflow.errors import SegflowError
from segflow.web import analytics, pages
from segflow.web.render import STATIC_FILES, render, static_file
from segflow.web.view import Page, View

MARKER = ".segflow-report"


@dataclass(frozen=True)
class Report:
    path: Path
    pages: int


Tick = Callable[[int, int], None]  # (pages done, pages in all)


def site_pages(conn: psycopg.Connection, view: View,
               progress: Tick | None = None) -> Iterator[tuple[str, Page]]:
    """Every page of the site with its relative path, one at a time (`progress` is told after
    each; the features of every segment are computed first, in one pass, and count as a page)."""
    segment_ids = [row["id"] for row in reports.segment_grid(conn)[1]]
    work: list[tuple[str, Callable[[View], Page]]] = [
        ("index.html", lambda v: pages.grid_page(conn, v)),
        ("groups.html", lambda v: pages.groups_page(conn, v))]
    for group in reports.groups(conn):
        work.append((f"groups/{_safe(group['id'])}.html",
                     lambda v, g=group["id"]: pages.group_page(conn, g, v)))
    for sid in segment_ids:
        work.append((f"segments/{_safe(sid)}.html",
                     lambda v, s=sid: pages.segment_page(conn, s, v)))
    if pages.saved_plan(view) is not None:
        work.append(("plan.html", lambda v: pages.plan_page(conn, v)))
    total = len(work) + (1 if view.features and segment_ids else 0)
    done = 0
    if total > len(work):
        view = replace(view, features_of=analytics.all_features(conn, segment_ids, view))
        done += 1
        if progress:
            progress(done, total)
    for rel, make in work:
        page = make(view)
        done += 1
        if progress:
            progress(done, total)
        yield rel, page


def _safe(name: str) -> str:
    if not re.fullmatch(r"\w+", name):  # ids are rule-language names; anything else is a bug
        raise ValueError(f"unexpected id {name!r}")
    return name


def write_report(conn: psycopg.Connection, out: Path, view: View,
                 progress: Tick | None = None) -> Report:
    """Render every page into `out` (replacing an earlier report there)."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise SegflowError(f"{out} exists and is not an earlier segflow report; "
                           "choose a new or empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        written = 0
        for rel, page in site_pages(conn, view, progress):
            target = build / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(page), encoding="utf-8")
            written += 1
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
    return Report(out, written)
