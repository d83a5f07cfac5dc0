"""Shared helpers for the runtime tests: a migrated store database, projects from rule text,
plan / apply / run with the store's time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from segflow.compiler.project import Project, load_sources
from segflow.dsl.parser import parse
from segflow.engines.postgres.db import migrate
from segflow.lifecycle.apply import ApplyResult, apply_plan
from segflow.lifecycle.plan import plan_for
from segflow.lifecycle.plan_model import Plan
from segflow.lifecycle.run import RunResult, run_day
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


def load_generated_store(conn: psycopg.Connection, customers: int, seed: int,
                         end: dt.date) -> None:
    """The migrated schema, then a generated store (one transaction); leaves autocommit on."""
    from segflow.sources.synth import generate_store

    conn.commit()
    conn.autocommit = True
    migrate(conn)
    with conn.transaction():
        generate_store(conn, customers, seed, end)


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


# A generated store with rules of every kind (data-only and calendar-dependent, aggregates with
# and without `today`, a journey, a segment reference): the `generated` fixture of conftest.py.
GENERATED_END = dt.date(2026, 6, 30)
GENERATED_RULES = """
segment repeaters { where order_count >= 2 }
segment big { where total_spent >= 250 }
segment active { where days_since_last_order <= 30 }
segment lapsing { where days_since_last_order > 45 and days_since_last_order <= 90 }
segment starter_first { where first_order.product = "Coffee Starter Kit" }
segment web_buyers { where orders.source = "web" }
segment fb_first { where first_order.utm_source = "facebook" }
segment ontario { where province = "ON" }
segment vip { where tags contains "vip" }
segment refill_journey {
  where first_order.product = "Coffee Starter Kit" and later_orders.product = "Coffee Beans Refill"
}
segment busy_month { where orders[date >= today - 30d].count >= 2 }
segment quarter_spend { where orders[date >= today - 90d].total >= 100 }
segment last_espresso { where last_order.product = "Espresso Blend" }
segment active_repeaters { where segment active and segment repeaters }
segment since_2026 { where orders[date >= 2026-01-01].count >= 1 }
"""

