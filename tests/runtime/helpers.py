"""Shared helpers for the runtime tests: a migrated store database, projects from rule text,
plan / apply / run with the store's time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from segflow.compiler.project import Project, load_sources
from segflow.dsl.parser import parse
from segflow.runtime.apply import ApplyResult, apply_plan
from segflow.runtime.db import migrate
from segflow.runtime.plan import plan_for
from segflow.runtime.plan_model import Plan
from segflow.runtime.run import RunResult, run_day
from tests.compiler import store_data

TZ = store_data.TZ
AS_OF = store_data.AS_OF


def load_migrated_store(conn: psycopg.Connection) -> None:
    """The migrated schema (store tables + segflow state), then the hand-built store rows."""
    conn.commit()
    conn.autocommit = True
    migrate(conn)
    conn.autocommit = False
    original = store_data.canonical_ddl
    store_data.canonical_ddl = lambda: "SELECT 1"  # the tables exist: migration 1 made them
    try:
        store_data.load(conn)
    finally:
        store_data.canonical_ddl = original
    conn.commit()


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def project(text: str, root: Path, lists: dict[str, str] | None = None) -> Project:
    """A checked project from rule text (list files written under `root` first)."""
    for rel, content in (lists or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return load_sources([parse(text, "x.seg")], root)


def plan(conn: psycopg.Connection, proj: Project, today: dt.date = AS_OF) -> Plan:
    return plan_for(conn, proj, TZ, today)


def apply(conn: psycopg.Connection, the_plan: Plan, root: Path, **kw) -> ApplyResult:
    return apply_plan(conn, the_plan, root, TZ, **kw)


def plan_apply(conn: psycopg.Connection, proj: Project, root: Path,
               today: dt.date = AS_OF) -> tuple[Plan, ApplyResult]:
    the_plan = plan(conn, proj, today)
    return the_plan, apply(conn, the_plan, root)


def run(conn: psycopg.Connection, day: dt.date, root: Path) -> RunResult:
    return run_day(conn, day, TZ, root)


def ordinal(conn: psycopg.Connection, segment_id: str) -> int:
    row = conn.execute("SELECT ordinal FROM segflow.segments WHERE segment_id = %s",
                       (segment_id,)).fetchone()
    assert row is not None, segment_id
    return row[0]


def members(conn: psycopg.Connection, segment_id: str) -> list[int]:
    """Current members of a segment, as recorded in customer_segments."""
    return [r[0] for r in conn.execute(
        "SELECT customer_id FROM segflow.customer_segments WHERE %s = ANY(segments)"
        " ORDER BY 1", (ordinal(conn, segment_id),))]


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return row[0]


HISTORY_TABLES = ("segflow.membership_events", "segflow.daily_metrics", "segflow.daily_activity",
                  "segflow.runs")


def history_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: count(conn, t) for t in HISTORY_TABLES}
