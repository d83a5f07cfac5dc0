"""The embedded PostgreSQL cluster, against real servers (no mocks of the database)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import site
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from segflow.engines.postgres import pgserver
from segflow.engines.postgres.pgserver import Cluster, find_server_binaries, project_cluster
from segflow.errors import SegflowError

IS_ROOT = os.geteuid() == 0
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster_dir():
    """A fresh directory of our own, traversable by the server account when we are root."""
    d = Path(tempfile.mkdtemp(prefix="segflow-test-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cluster(cluster_dir):
    c = Cluster(cluster_dir / "pg", ephemeral=True)
    yield c
    c.destroy()


def _wait_dead(c: Cluster, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while c.status().running:
        assert time.monotonic() < deadline, "postmaster did not die"
        time.sleep(0.05)


def test_lifecycle_restart_and_reuse(cluster):
    st = cluster.status()
    assert not st.running and st.version is None and not st.relocated
    cluster.init()
    cluster.init()  # idempotent
    pw = cluster.password_file.stat()
    assert stat.S_IMODE(pw.st_mode) == 0o600 and pw.st_uid == os.geteuid()
    assert cluster.status().version

    cluster.start()
    st = cluster.status()
    assert st.running and st.port and st.pid and st.data_dir == cluster_dir_of(cluster) / "data"
    with psycopg.connect(cluster.url()) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), current_setting('listen_addresses'),"
            " current_setting('jit'), current_setting('fsync'),"
            " current_setting('server_encoding'), current_setting('lc_collate'),"
            " current_setting('unix_socket_directories')"
        ).fetchone()
        assert row == ("segflow", "segflow", "127.0.0.1", "off", "off", "UTF8", "C", "")
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")

    cluster.start()  # already running: reused
    assert cluster.status().pid == st.pid
    other = Cluster(cluster.requested, ephemeral=True)  # another process/instance: reused too
    other.start()
    assert (other.status().pid, other.port) == (st.pid, st.port)

    cluster.stop()
    cluster.stop()  # idempotent
    assert not cluster.status().running
    assert not (st.data_dir / "postmaster.pid").exists()
    with pytest.raises(SegflowError, match="not running"):
        cluster.url()

    cluster.start()
    assert cluster.status().pid != st.pid
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)


def cluster_dir_of(c: Cluster) -> Path:
    return c.requested


def test_password_is_required(cluster):
    cluster.start()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url().replace(cluster.password(), "wrong"), connect_timeout=5)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://segflow@127.0.0.1:{cluster.port}/segflow",
                        connect_timeout=5, passfile=os.devnull)


def test_stale_postmaster_pid_after_kill_9(cluster):
    cluster.start()
    before = cluster.status()
    os.kill(before.pid, signal.SIGKILL)
    _wait_dead(cluster)
    assert (before.data_dir / "postmaster.pid").exists()  # stale lock left behind

    cluster.start()
    after = cluster.status()
    assert after.running and after.pid != before.pid
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_start_failure_raises_with_log_tail(cluster):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        c = Cluster(cluster.requested, port=busy.getsockname()[1], ephemeral=True)
        with pytest.raises(SegflowError) as err:
            c.start()
    assert "failed to start" in err.value.message
    assert "could not" in err.value.message and str(c.log_file) in err.value.message


@pytest.mark.skipif(not IS_ROOT, reason="relocation only happens as root")
def test_root_relocates_cluster_out_of_private_dir():
    parent = Path(tempfile.mkdtemp(prefix="segflow-private-"))  # mode 700, like /root
    assert stat.S_IMODE(parent.stat().st_mode) == 0o700
    project = parent / "shop"
    project.mkdir()
    c = project_cluster(project, ephemeral=True)
    try:
        c.start()
        st = c.status()
        assert st.running and st.relocated
        assert not st.data_dir.is_relative_to(parent)
        base = Path(os.environ.get("SEG_PG_CLUSTERS_DIR") or pgserver.DEFAULT_RELOCATION_BASE)
        assert st.data_dir.is_relative_to(base)
        pointer = project / ".segflow" / "pg" / pgserver.POINTER_FILE
        assert Path(pointer.read_text().strip()) == st.data_dir.parent
        assert stat.S_IMODE(parent.stat().st_mode) == 0o700  # user's folder left alone
        again = project_cluster(project)
        assert again.status().data_dir == st.data_dir and again.status().running
        with psycopg.connect(again.url()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        c.destroy()
        shutil.rmtree(parent, ignore_errors=True)
    assert not st.data_dir.parent.exists() and not pointer.exists()


def _account_python(account: pgserver.Account, env: dict) -> str | None:
    """An interpreter the account can run that imports psycopg and segflow, if any."""
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    for exe in dict.fromkeys([sys.executable, f"/usr/bin/python{ver}", f"/usr/local/bin/python{ver}"]):
        try:
            r = subprocess.run([exe, "-c", "import psycopg, segflow.engines.postgres.pgserver"], cwd="/",
                               env=env, capture_output=True, user=account.uid,
                               group=account.gid, extra_groups=[])
        except OSError:  # e.g. a venv under /root: not executable by the account
            continue
        if r.returncode == 0:
            return exe
    return None


SNIPPET = textwrap.dedent("""
    import sys
    from pathlib import Path
    import psycopg
    from segflow.engines.postgres.pgserver import Cluster
    c = Cluster(Path(sys.argv[1]) / "pg", ephemeral=True)
    try:
        c.start()
        st = c.status()
        assert st.running and not st.relocated, st
        with psycopg.connect(c.url()) as conn:
            print(conn.execute("SELECT current_user").fetchone()[0])
    finally:
        c.destroy()
""")


def test_runs_as_ordinary_user():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SEG_PG_CLUSTERS"))}
    if not IS_ROOT:
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, "-c", SNIPPET, d], env=env,
                               capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "segflow"
        return
    account = pgserver.service_account()
    paths = [str(REPO), *site.getsitepackages(), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["HOME"] = pwd.getpwuid(account.uid).pw_dir
    exe = _account_python(account, env)
    if exe is None:
        pytest.skip(f"no Python with psycopg and segflow is usable by account {account.name}")
    d = Path(tempfile.mkdtemp(prefix="segflow-user-"))
    try:
        d.chmod(0o700)
        os.chown(d, account.uid, account.gid)
        r = subprocess.run([exe, "-c", SNIPPET, str(d)], env=env, cwd=d, capture_output=True,
                           text=True, timeout=60, user=account.uid, group=account.gid,
                           extra_groups=[])
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "segflow"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_find_server_binaries_override_must_hold_them(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("SEG_PG_BINDIR", str(empty))
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(SegflowError) as err:
        find_server_binaries()
    assert "\n" not in str(err.value) and "SEG_PG_BINDIR" in err.value.message


def test_find_server_binaries_not_found_message(tmp_path, monkeypatch):
    monkeypatch.delenv("SEG_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pgserver, "SYSTEM_GLOBS", (str(tmp_path / "*" / "bin"),))
    with pytest.raises(SegflowError) as err:
        find_server_binaries()
    msg = str(err.value)
    assert "\n" not in msg and "apt-get install postgresql" in msg and "seg.toml" in msg


def test_find_server_binaries_found(monkeypatch):
    monkeypatch.delenv("SEG_PG_BINDIR", raising=False)
    d = find_server_binaries()
    assert all((d / b).exists() for b in ("initdb", "postgres", "pg_ctl"))
    monkeypatch.setenv("SEG_PG_BINDIR", str(d))
    assert find_server_binaries() == d


# -- the pytest plugin (tests/pg.py) -------------------------------------------------------
_seen: list[str] = []


def test_pg_db_is_fresh_a(pg_conn, pg_db):
    pg_conn.execute("CREATE TABLE marker (x int)")
    pg_conn.commit()
    _seen.append(pg_conn.info.dbname)


def test_pg_db_is_fresh_b(pg_conn, pg_cluster):
    name = pg_conn.info.dbname
    assert name not in _seen
    assert pg_conn.execute("SELECT to_regclass('marker')").fetchone() == (None,)
    with pg_cluster.connect() as admin:
        for old in _seen:  # dropped after its test
            assert not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                     [old]).fetchone()


def test_pg_dbs_are_isolated(pg_conn, pg_cluster, pg_db_template):
    pg_conn.execute("CREATE TABLE mine (x int)")
    pg_conn.commit()
    pg_cluster.create_database("sibling", template=pg_db_template)
    try:
        with psycopg.connect(pg_cluster.url("sibling")) as other:
            assert other.execute("SELECT to_regclass('mine')").fetchone() == (None,)
    finally:
        pg_cluster.drop_database("sibling")


class TestTemplateOverride:
    @pytest.fixture
    def pg_db_template(self, make_template):
        return make_template("shop", ["CREATE TABLE customers (id int PRIMARY KEY)",
                                      "INSERT INTO customers VALUES (1), (2)"])

    def test_clone_has_template_content(self, pg_conn):
        assert pg_conn.execute("SELECT count(*) FROM customers").fetchone() == (2,)
        pg_conn.execute("DELETE FROM customers")
        pg_conn.commit()

    def test_template_untouched_by_previous_test(self, pg_conn, pg_template_db):
        assert pg_conn.execute("SELECT count(*) FROM customers").fetchone() == (2,)
        calls = []
        assert pg_template_db("shop", calls.append) == "tpl_shop"  # cached by name
        assert calls == []
