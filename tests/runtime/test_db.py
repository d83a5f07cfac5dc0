"""segflow.engines.postgres.db (migrations, connecting) and the `seg db` commands, on real servers."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.engines.postgres.db import connect, migrate, migrations, schema_version
from segflow.engines.postgres.pgserver import NOT_FOUND, project_cluster
from segflow.errors import SegflowError

IS_ROOT = os.geteuid() == 0


def test_migrate_applies_all_and_records_them(pg_conn):
    assert schema_version(pg_conn) == 0
    applied = migrate(pg_conn)
    known = migrations()
    assert [m.version for m in applied] == list(range(1, len(known) + 1))
    assert pg_conn.execute(
        "SELECT version, name FROM segflow.schema_migrations ORDER BY version").fetchall() == [
        (m.version, m.name) for m in known]
    for table in ("store.customers", "store.orders", "store.order_lines"):
        assert pg_conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone() == (
            True,)
    assert migrate(pg_conn) == []  # idempotent
    assert schema_version(pg_conn) == len(known)
    assert pg_conn.execute("SELECT count(*) FROM segflow.schema_migrations").fetchone() == (
        len(known),)


def test_newer_database_is_refused_untouched(pg_conn):
    migrate(pg_conn)
    newer = len(migrations()) + 1
    pg_conn.execute("INSERT INTO segflow.schema_migrations (version, name) VALUES (%s, 'future')",
                    (newer,))
    pg_conn.execute("ALTER TABLE store.customers ADD COLUMN from_the_future int")
    pg_conn.commit()
    before = pg_conn.execute("SELECT * FROM segflow.schema_migrations ORDER BY version").fetchall()
    with pytest.raises(SegflowError) as err:
        migrate(pg_conn)
    assert err.value.message == (
        f"the database schema is at version {newer}, newer than this segflow knows "
        f"({newer - 1}): upgrade segflow (pip install -U segflow) before using this database")
    pg_conn.rollback()
    after = pg_conn.execute("SELECT * FROM segflow.schema_migrations ORDER BY version").fetchall()
    assert after == before
    assert pg_conn.execute("SELECT count(*) FROM information_schema.columns WHERE"
                           " column_name = 'from_the_future'").fetchone() == (1,)


def test_connect_unreachable_is_one_line_without_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    url = f"postgresql://segflow:s3cr3t-pw@127.0.0.1:{port}/shop"
    with pytest.raises(SegflowError) as err:
        connect(url)
    text = err.value.render()
    assert "\n" not in text and "s3cr3t-pw" not in text
    assert text.startswith(f"cannot connect to the database postgresql://segflow:***@127.0.0.1:"
                           f"{port}/shop: ")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project under tmp_path using its embedded cluster; destroyed afterwards."""
    monkeypatch.delenv("SEG_DATABASE_URL", raising=False)
    monkeypatch.delenv("SEG_PG_BINDIR", raising=False)
    # As root the cluster is relocated out of pytest's private tmp dir: keep it in a temporary
    # place of ours rather than /var/lib/segflow.
    clusters = Path(tempfile.mkdtemp(prefix="segflow-clusters-"))
    clusters.chmod(0o755)
    monkeypatch.setenv("SEG_PG_CLUSTERS_DIR", str(clusters))
    root = tmp_path / "shop"
    root.mkdir()
    (root / "seg.toml").write_text("[store]\ntimezone = \"UTC\"\n")
    yield root
    project_cluster(root).destroy()
    shutil.rmtree(clusters, ignore_errors=True)


def seg(root: Path, *args: str):
    return CliRunner().invoke(cli, ["-C", str(root), *args])


def test_seg_db_embedded_lifecycle(project):
    r = seg(project, "db", "status")
    assert r.exit_code == 0, r.output
    assert "embedded PostgreSQL cluster" in r.output and "not created yet" in r.output
    r = seg(project, "db", "url")
    assert r.exit_code == 1 and "is not running" in r.output

    r = seg(project, "db", "start")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("started on 127.0.0.1:")
    cluster = project_cluster(project)
    st = cluster.status()
    assert st.running
    assert ("relocated from" in seg(project, "db", "status").output) == st.relocated
    if IS_ROOT and not st.relocated:  # pytest's tmp dir is private: root must relocate
        pytest.fail("expected the cluster to be relocated")

    r = seg(project, "db", "status")
    assert r.exit_code == 0
    assert f"running on 127.0.0.1:{st.port}" in r.output
    assert f"version {len(migrations())} (up to date)" in r.output
    assert cluster.password() not in r.output

    r = seg(project, "db", "url")
    assert r.exit_code == 0
    url = r.output.strip()
    assert url == cluster.url()
    with connect(url) as conn:
        assert schema_version(conn) == len(migrations())

    assert seg(project, "db", "start").output.startswith("already running on")
    r = seg(project, "db", "stop")
    assert (r.exit_code, r.output) == (0, "stopped\n")
    assert not cluster.status().running
    assert seg(project, "db", "stop").output == "not running\n"
    assert "stopped (PostgreSQL" in seg(project, "db", "status").output


def test_seg_db_configured_database(pg_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_DATABASE_URL", pg_db)
    r = seg(tmp_path, "db", "status")
    assert r.exit_code == 0, r.output
    assert "configured by SEG_DATABASE_URL" in r.output and ":***@" in r.output
    assert "schema:   not created yet" in r.output
    assert seg(tmp_path, "db", "start").output.startswith("nothing to start")
    assert seg(tmp_path, "db", "stop").output.startswith("nothing to stop")
    assert seg(tmp_path, "db", "url").output.strip() == pg_db
    assert not (tmp_path / ".segflow").exists()


def test_seg_db_status_without_postgres(tmp_path, monkeypatch):
    monkeypatch.delenv("SEG_DATABASE_URL", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SEG_PG_BINDIR", str(empty))
    r = seg(tmp_path, "db", "status")
    assert r.exit_code == 1
    assert r.output == (f"PostgreSQL server binaries (initdb, postgres, pg_ctl) not found in "
                        f"SEG_PG_BINDIR={empty}; point it at the directory holding them or unset "
                        "it\n")
    assert NOT_FOUND  # the message without SEG_PG_BINDIR is pgserver's (tested there)
