"""A database with a small generated store (fixed seed and end date: counts are deterministic)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from segflow.runtime.db import migrate
from segflow.runtime.synth import generate_store

END = dt.date(2026, 6, 30)  # the store's last day, and the day its segments are evaluated
CUSTOMERS = 2_000
SEED = 7


def _load(conn: psycopg.Connection) -> None:
    conn.commit()
    conn.autocommit = True
    migrate(conn)
    with conn.transaction():
        generate_store(conn, CUSTOMERS, SEED, END)
    conn.autocommit = False


@pytest.fixture
def demo_db(pg_cluster, make_template) -> Iterator[str]:
    """URL of a fresh migrated database holding the generated store."""
    template = make_template("gitops_demo", _load)
    name = f"gitops_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    pg_cluster.create_database(name, template=template)
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)
