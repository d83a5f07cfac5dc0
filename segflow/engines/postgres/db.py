"""Which database segflow uses, how it connects, and the versioned schema.

The database comes from `SEG_DATABASE_URL`, else `[database] url` in seg.toml, else the
project's embedded cluster (started on demand). Every connection runs with `jit = off` (JIT
never paid off for these queries, see PERFORMANCE.md) and its schema migrated to the version
this code knows; a database migrated by a newer segflow is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import psycopg

from segflow.compiler.tables import canonical_ddl
from segflow.config import Config
from segflow.errors import SegflowError

MIGRATIONS_LOCK = 7_415_001  # advisory lock key held while migrating


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: Callable[[], str]


def _file_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("segflow.engines.postgres.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append(Migration(int(m[1]), m[2], entry.read_text))
    return found


def migrations() -> list[Migration]:
    """Every schema migration, in order. Version 1 is the compiler's canonical store tables."""
    all_ = [Migration(1, "store_tables", canonical_ddl), *_file_migrations()]
    all_.sort(key=lambda m: m.version)
    versions = [m.version for m in all_]
    assert versions == list(range(1, len(all_) + 1)), f"migration numbers must be 1..n: {versions}"
    return all_


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def resolve_url(config: Config, *, start: bool = True) -> str:
    """The database URL: configured, or the project's embedded cluster (started if asked)."""
    url = config.database_url()
    if url:
        return url
    from segflow.engines.postgres.pgserver import project_cluster

    cluster = project_cluster(config.root)
    if start:
        cluster.start()
    return cluster.url()


def connect(url: str, *, autocommit: bool = False, application: str = "segflow") -> psycopg.Connection:
    """A connection with segflow's session settings; unreachable -> one clear error."""
    try:
        conn = psycopg.connect(url, autocommit=autocommit, application_name=application,
                               connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "connection failed"
        reason = reason.replace(urlsplit(url).password or "\0", "***")
        raise SegflowError(f"cannot connect to the database {redact(url)}: {reason}") from None
    conn.execute("SET jit = off")
    if not autocommit:
        conn.commit()
    return conn


def schema_version(conn: psycopg.Connection) -> int:
    exists = conn.execute("SELECT to_regclass('segflow.schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM segflow.schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection) -> list[Migration]:
    """Bring the schema to this code's version; returns what was applied.

    Each migration runs in its own transaction, under an advisory lock so two processes never
    migrate at once. A database newer than the code is refused, never touched.
    """
    known = migrations()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATIONS_LOCK,))
        current = schema_version(conn)
    if current > len(known):
        raise SegflowError(
            f"the database schema is at version {current}, newer than this segflow knows "
            f"({len(known)}): upgrade segflow (pip install -U segflow) before using this database"
        )
    applied = []
    for migration in known[current:]:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATIONS_LOCK,))
            if schema_version(conn) >= migration.version:  # another process got there first
                continue
            conn.execute(
                "CREATE SCHEMA IF NOT EXISTS segflow;"
                "CREATE TABLE IF NOT EXISTS segflow.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.execute(migration.sql())
            conn.execute(
                "INSERT INTO segflow.schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        applied.append(migration)
    return applied


def open_database(config: Config, *, autocommit: bool = False, migrate_schema: bool = True
                  ) -> psycopg.Connection:
    """Connect to the project's database with its schema up to date."""
    conn = connect(resolve_url(config), autocommit=autocommit)
    if migrate_schema:
        try:
            migrate(conn)
        except psycopg.errors.InsufficientPrivilege as exc:
            conn.close()
            raise SegflowError(f"cannot migrate the database schema: {exc}".strip()) from None
    return conn
