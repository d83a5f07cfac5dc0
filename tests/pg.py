"""Pytest plugin: real PostgreSQL for tests, via the same cluster manager end users get.

One ephemeral cluster per test session (per xdist worker), template databases built once per
session, and a fresh database per test cloned from a template (`CREATE DATABASE ... TEMPLATE`),
which is much faster than replaying DDL for every test.

Load with `pytest_plugins = ["tests.pg"]` in tests/conftest.py. Override `pg_db_template` (a
fixture returning a template name, e.g. from `make_template`) to choose what `pg_db` starts from.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from segflow.engines.postgres.pgserver import Cluster

Setup = Callable[[psycopg.Connection], None] | Iterable[str]
MakeTemplate = Callable[[str, Setup], str]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway cluster for the whole session (one per xdist worker)."""
    home = Path(tempfile.mkdtemp(prefix="segflow-pg-"))
    # Our own fresh directory: make it traversable so that, as root, the server account can
    # use it in place (no relocation). Its secrets are 0600 files inside.
    home.chmod(0o755)
    cluster = Cluster(home, ephemeral=True)
    try:
        cluster.start()
    except BaseException:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)
        raise
    try:
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def make_template(pg_cluster: Cluster) -> MakeTemplate:
    """`make_template(name, setup) -> db name`: build a template database once per session.

    `setup` is a callable taking a psycopg connection, or a list of SQL statements. The result
    is cached by `name`; the returned name goes to `pg_cluster.create_database(x, template=...)`
    or is returned from an overriding `pg_db_template` fixture.
    """
    built: dict[str, str] = {}

    def make(name: str, setup: Setup) -> str:
        if name in built:
            return built[name]
        db = "tpl_" + re.sub(r"[^a-z0-9_]", "_", name.lower())
        pg_cluster.drop_database(db)
        pg_cluster.create_database(db, template="template0")
        # No connection may stay open on a template, or cloning it fails.
        with psycopg.connect(pg_cluster.url(db), autocommit=False) as conn:
            if callable(setup):
                setup(conn)
            else:
                for statement in setup:
                    conn.execute(statement)
            conn.commit()
        with pg_cluster.connect() as conn:
            conn.execute(f'ALTER DATABASE "{db}" WITH IS_TEMPLATE true')
        built[name] = db
        return db

    return make


@pytest.fixture(scope="session")
def pg_template_db(make_template: MakeTemplate) -> MakeTemplate:
    """Alias of `make_template`."""
    return make_template


@pytest.fixture
def pg_db_template(make_template: MakeTemplate) -> str:
    """The template `pg_db` clones; an empty database unless a conftest/module overrides it."""
    return make_template("empty", [])


@contextmanager
def cloned(cluster: Cluster, template: str, prefix: str = "t") -> Iterator[str]:
    """URL of a new database cloned from `template` (cheap: a file copy), dropped on exit."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    cluster.create_database(name, template=template)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def pg_db(pg_cluster: Cluster, pg_db_template: str) -> Iterator[str]:
    """URL of a fresh database for this test, cloned from `pg_db_template`, dropped after."""
    with cloned(pg_cluster, pg_db_template) as url:
        yield url


@pytest.fixture
def pg_conn(pg_db: str) -> Iterator[psycopg.Connection]:
    """A connection (autocommit off) to `pg_db`, closed after the test."""
    conn = psycopg.connect(pg_db, autocommit=False)
    try:
        yield conn
    finally:
        conn.close()
