"""The daily run and the safety of apply: idempotent, ordered, all-or-nothing, one at a time."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import sqlglot

from segflow.compiler import incremental as split_module
from segflow.engines.postgres.state import RUN_LOCK
from segflow.errors import SegflowError
from tests.runtime import helpers as h

RULES = """
segment buyers { where order_count >= 1 }
segment recent { where days_since_last_order <= 30 }
segment vips { where tags contains "vip" }
"""
REPO = Path(__file__).resolve().parents[2]


def test_same_day_rerun_adds_no_rows(conn, tmp_path):
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path)
    first = h.run(conn, h.AS_OF, tmp_path)
    assert first.wrote
    counts = h.history_counts(conn)
    state = conn.execute("SELECT * FROM segflow.state").fetchone()
    again = h.run(conn, h.AS_OF, tmp_path)
    assert not again.wrote
    assert h.history_counts(conn) == counts
    assert conn.execute("SELECT * FROM segflow.state").fetchone() == state


def test_run_for_a_day_before_the_last_run_is_refused(conn, tmp_path):
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path)
    h.run(conn, h.AS_OF, tmp_path)
    counts = h.history_counts(conn)
    with pytest.raises(SegflowError, match=r"already recorded 2025-03-15.*2025-03-14.*backfill"):
        h.run(conn, dt.date(2025, 3, 14), tmp_path)
    assert h.history_counts(conn) == counts


def test_run_with_nothing_applied_fails_clearly(conn, tmp_path):
    with pytest.raises(SegflowError, match=r"no segments applied yet.*seg apply"):
        h.run(conn, h.AS_OF, tmp_path)
    assert h.history_counts(conn) == dict.fromkeys(h.HISTORY_TABLES, 0)


def test_failing_segment_is_named_and_the_run_writes_nothing(conn, tmp_path, monkeypatch):
    text = RULES + 'segment bad { where order_count >= 2 }\n'
    h.plan_apply(conn, h.project(text, tmp_path), tmp_path, today=dt.date(2025, 1, 31))
    h.run(conn, dt.date(2025, 1, 31), tmp_path)
    counts = h.history_counts(conn)
    memberships = conn.execute("SELECT * FROM segflow.customer_segments ORDER BY 1").fetchall()
    state = conn.execute("SELECT * FROM segflow.state").fetchone()

    real = split_module.compile_project

    def broken(project, ev):
        compiled = real(project, ev)
        compiled.predicates["bad"] = sqlglot.parse_one("f.customer_id / 0 = 1", read="postgres")
        return compiled

    monkeypatch.setattr(split_module, "compile_project", broken)
    with pytest.raises(SegflowError, match="segment 'bad' failed to evaluate: division by zero"):
        h.run(conn, h.AS_OF, tmp_path)
    assert h.history_counts(conn) == counts
    assert conn.execute("SELECT * FROM segflow.customer_segments ORDER BY 1").fetchall() == (
        memberships)
    assert conn.execute("SELECT * FROM segflow.state").fetchone() == state
    monkeypatch.undo()
    assert h.run(conn, h.AS_OF, tmp_path).wrote  # the same day runs once fixed


def test_customer_enters_then_leaves_across_days(conn, tmp_path):
    # bob's only order is on 2025-03-01: recent from that day through 2025-03-31
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path, today=dt.date(2025, 2, 15))
    for day in ("2025-03-01", "2025-03-20", "2025-03-31", "2025-04-01", "2025-04-02"):
        h.run(conn, dt.date.fromisoformat(day), tmp_path)
    recent = h.ordinal(conn, "recent")
    events = conn.execute(
        "SELECT day, entered FROM segflow.membership_events"
        " WHERE customer_id = 2 AND segment_ord = %s ORDER BY day", (recent,)).fetchall()
    assert events == [(dt.date(2025, 3, 1), True), (dt.date(2025, 4, 1), False)]
    assert 2 not in h.members(conn, "recent") and 2 in h.members(conn, "buyers")
    buyers = h.ordinal(conn, "buyers")
    assert conn.execute("SELECT day, entered FROM segflow.membership_events"
                        " WHERE customer_id = 2 AND segment_ord = %s", (buyers,)).fetchall() == [
        (dt.date(2025, 3, 1), True)]


def _hold_lock(url: str) -> psycopg.Connection:
    blocker = psycopg.connect(url)
    blocker.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
    return blocker


def _waiting_for_lock(url: str, n: int, timeout: float = 20) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = c.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND NOT granted AND objid = %s", (RUN_LOCK,)).fetchone()
            if row and row[0] >= n:
                return
            time.sleep(0.05)
    raise AssertionError("nobody waited for the lock")


def test_two_concurrent_applies_one_wins_the_other_is_stale(store_db, tmp_path):
    proj = h.project(RULES, tmp_path)
    conns = [h.connect(store_db) for _ in range(2)]
    plans = [h.plan(c, proj) for c in conns]
    outcomes: list = [None, None]

    def apply(i: int) -> None:
        try:
            outcomes[i] = h.apply(conns[i], plans[i], tmp_path)
        except SegflowError as exc:
            outcomes[i] = exc

    blocker = _hold_lock(store_db)
    threads = [threading.Thread(target=apply, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    _waiting_for_lock(store_db, 2)
    blocker.rollback()
    for t in threads:
        t.join(30)
    blocker.close()
    errors = [o for o in outcomes if isinstance(o, SegflowError)]
    assert len(errors) == 1 and "stale" in str(errors[0])
    with conns[0] as c:
        assert h.count(c, "segflow.segments") == 3
        assert h.count(c, "segflow.runs WHERE kind = 'apply'") == 1
    conns[1].close()


def test_apply_with_lock_timeout_fails_with_the_lock_message(conn, store_db, tmp_path):
    p = h.plan(conn, h.project(RULES, tmp_path))
    blocker = _hold_lock(store_db)
    try:
        with pytest.raises(SegflowError, match=r"still holds the lock after 0\.2 s"):
            h.apply(conn, p, tmp_path, lock_timeout=0.2)
    finally:
        blocker.close()
    assert h.count(conn, "segflow.segments") == 0
    h.apply(conn, p, tmp_path)  # the same plan is still good: nothing moved
    assert h.count(conn, "segflow.segments") == 3


def test_apply_killed_halfway_leaves_state_consistent_and_next_apply_completes(
        store_db, tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "seg.toml", root / "seg.toml")
    shutil.copytree(REPO / "segments", root / "segments")
    seg = shutil.which("seg", path=str(Path(sys.executable).parent)) or "seg"
    env = {**os.environ, "SEG_DATABASE_URL": store_db}
    # Block the child after it wrote its segments, at its first membership event.
    blocker = psycopg.connect(store_db)
    blocker.execute("LOCK TABLE segflow.membership_events IN EXCLUSIVE MODE")
    child = subprocess.Popen([seg, "-C", str(root), "apply", "--auto-approve"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with psycopg.connect(store_db, autocommit=True) as watch:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and child.poll() is None:
                row = watch.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = 'segflow.membership_events'::regclass").fetchone()
                if row and row[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the apply never blocked: {child.stderr.read() if child.stderr else ''}")
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            blocker.rollback()
            # the dead client's backend aborts its transaction and goes away
            while time.monotonic() < deadline:
                row = watch.execute("SELECT count(*) FROM pg_stat_activity"
                                    " WHERE application_name = 'segflow'").fetchone()
                if row and row[0] == 0:
                    break
                time.sleep(0.05)
            assert h.count(watch, "segflow.segments") == 0
            assert h.count(watch, "segflow.segment_versions") == 0
            assert h.count(watch, "segflow.groups") == 0
            assert h.count(watch, "segflow.customer_segments") == 0
            assert h.history_counts(watch) == dict.fromkeys(h.HISTORY_TABLES, 0)
            assert watch.execute("SELECT revision FROM segflow.state").fetchone() == (0,)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        blocker.close()
    done = subprocess.run([seg, "-C", str(root), "apply", "--auto-approve"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Applied:" in done.stdout
    with psycopg.connect(store_db, autocommit=True) as c:
        n = len(list((root / "segments").glob("*.seg")))
        assert n == 3
        assert h.count(c, "segflow.segments") > 0
        assert h.count(c, "segflow.runs WHERE kind = 'apply'") == 1
