"""The read-only role of docs/gitops.md, created on a real cluster: `seg plan` works under it;
`seg apply` and `seg run` refuse with one message and write nothing."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.gitops.conftest import END
from tests.gitops.scratch import Repo

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gitops.md"
LIFECYCLE = "segments/lifecycle.seg"


def documented_sql() -> str:
    """The SQL block that docs/gitops.md gives for the read-only role."""
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- read-only-role:.*?-->\s*```sql\n(.*?)```", text, re.S)
    assert m, "docs/gitops.md lost its read-only role SQL block"
    return m.group(1)


@pytest.fixture
def role_url(demo_db: str) -> Iterator[str]:
    """Run the documented SQL (with this database, owner and a fresh role name); its URL."""
    url = urlsplit(demo_db)
    db, owner = url.path.lstrip("/"), url.username
    role, password = f"preview_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    script = (documented_sql().replace("segflow_preview", role).replace("DATABASE shop",
                                                                        f'DATABASE "{db}"')
              .replace("segflow_owner", f'"{owner}"').replace("'change-me'", f"'{password}'"))
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(script)
    try:
        yield url._replace(netloc=f"{role}:{quote(password)}@{url.hostname}:{url.port}").geturl()
    finally:
        with psycopg.connect(demo_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {r}; DROP ROLE {r}").format(r=sql.Identifier(role)))


def state_of(url: str) -> dict:
    """Every row count of segflow's schema, and the state row: what a write would change."""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'segflow' ORDER BY 1")]
        out = {t: conn.execute(sql.SQL("SELECT count(*) FROM segflow.{}")
                               .format(sql.Identifier(t))).fetchone()[0] for t in tables}
        out["state"] = conn.execute("SELECT last_run_day, revision FROM segflow.state").fetchone()
    return out


@pytest.fixture
def applied(tmp_path: Path, demo_db: str) -> Repo:
    """The starter segments applied and run for END with the owner's role; then a rule edit."""
    repo = Repo(tmp_path / "shop", env={"SEG_DATABASE_URL": demo_db})
    for args in (("apply", "--auto-approve"), ("run", "--date", END.isoformat())):
        done = repo.seg(*args)
        assert done.exit_code == 0, done.output
    repo.edit(LIFECYCLE, "where order_count >= 5", "where order_count >= 4")
    return repo


def _refused(done) -> None:
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    message = done.stderr.strip().splitlines()[-1]  # after the plan / progress lines
    assert message.startswith("the database role cannot write"), done.output
    assert "docs/gitops.md" in message and "Nothing was written." in message


def test_plan_works_under_the_read_only_role(applied: Repo, role_url: str, demo_db: str):
    as_reader = applied.seg("plan", "--format", "json", "--detailed-exitcode",
                            env={"SEG_DATABASE_URL": role_url})
    assert as_reader.exit_code == 2, as_reader.output
    as_owner = applied.seg("plan", "--format", "json")
    reader, owner = json.loads(as_reader.output), json.loads(as_owner.output)
    for made in (reader, owner):  # when it was made, and the signature that covers it
        made.pop("created_at"), made.pop("signature")
    assert reader == owner
    loyals = next(s for s in reader["segments"] if s["id"] == "loyals")
    assert loyals["action"] == "update" and loyals["entering"] > 0


def test_apply_and_run_refuse_clearly_and_write_nothing(applied: Repo, role_url: str,
                                                        demo_db: str):
    before = state_of(demo_db)
    env = {"SEG_DATABASE_URL": role_url}
    _refused(applied.seg("apply", "--auto-approve", env=env))
    _refused(applied.seg("run", "--date", "2026-07-01", env=env))
    assert state_of(demo_db) == before


def test_privileges_alone_refuse_writes(applied: Repo, role_url: str, demo_db: str):
    """Even when the role turns off its read-only default, it has no privilege to write."""
    role = urlsplit(role_url).username
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} RESET default_transaction_read_only")
                     .format(sql.Identifier(role)))
    before = state_of(demo_db)
    env = {"SEG_DATABASE_URL": role_url}
    _refused(applied.seg("apply", "--auto-approve", env=env))
    _refused(applied.seg("run", "--date", "2026-07-01", env=env))
    assert state_of(demo_db) == before


def test_tables_added_later_are_readable(role_url: str, demo_db: str):
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE segflow.added_later (x int); INSERT INTO segflow.added_later"
                     " VALUES (1)")
    with psycopg.connect(role_url) as conn:
        assert conn.execute("SELECT x FROM segflow.added_later").fetchone() == (1,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO segflow.added_later VALUES (2)")


def _one_error(done, start: str) -> None:
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    assert done.stderr.strip().startswith(start), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_plan_names_a_missing_grant(applied: Repo, role_url: str, demo_db: str):
    role = urlsplit(role_url).username
    with psycopg.connect(demo_db, autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE SELECT ON store.orders FROM {}").format(sql.Identifier(role)))
    done = applied.seg("plan", env={"SEG_DATABASE_URL": role_url})
    _one_error(done, "the database role lacks a privilege (permission denied for table orders)")


def test_plan_says_when_the_schema_needs_a_writer_first(applied: Repo, role_url: str,
                                                        demo_db: str):
    with psycopg.connect(demo_db, autocommit=True) as conn:  # as if segflow was upgraded since
        conn.execute("DELETE FROM segflow.schema_migrations WHERE version ="
                     " (SELECT max(version) FROM segflow.schema_migrations)")
    done = applied.seg("plan", env={"SEG_DATABASE_URL": role_url})
    _one_error(done, "the database role is read-only")
    assert "run `seg apply` once with a role that can write" in done.stderr
