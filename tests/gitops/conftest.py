"""A database with a small generated store (fixed seed and end date: counts are deterministic)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.runtime.helpers import load_generated_store

END = dt.date(2026, 6, 30)  # the store's last day, and the day its segments are evaluated
CUSTOMERS = 2_000
SEED = 7


def _load(conn: psycopg.Connection) -> None:
    load_generated_store(conn, CUSTOMERS, SEED, END)
    conn.autocommit = False


@pytest.fixture
def pg_db_template(make_template) -> str:
    """`pg_db` in these tests starts from a migrated database holding the generated store."""
    return make_template("gitops_demo", _load)


@pytest.fixture
def demo_db(pg_db: str) -> str:
    """URL of a fresh database with the generated store."""
    return pg_db
