from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.pg import cloned
from tests.runtime.helpers import connect, load_migrated_store


@pytest.fixture
def store_template(make_template) -> str:
    """Template: migrated schema + the hand-built store (tests/compiler/store_data.py)."""
    return make_template("runtime_store", load_migrated_store)


@pytest.fixture
def store_db(pg_cluster, store_template) -> Iterator[str]:
    """URL of a fresh migrated store database for this test."""
    with cloned(pg_cluster, store_template, "rt") as url:
        yield url


@pytest.fixture
def conn(store_db) -> Iterator[psycopg.Connection]:
    """An autocommit connection (the runtime manages its own transactions)."""
    c = connect(store_db)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def generated(conn, tmp_path):
    """A generated store (600 customers) with `helpers.GENERATED_RULES` applied 30 days before
    its last day; returns the project root."""
    import datetime as dt

    from segflow.sources.synth import generate_store
    from tests.runtime import helpers as h

    with conn.transaction():
        generate_store(conn, 600, 11, h.GENERATED_END)
    h.plan_apply(conn, h.project(h.GENERATED_RULES, tmp_path), tmp_path,
                 today=h.GENERATED_END - dt.timedelta(days=30))
    return tmp_path
