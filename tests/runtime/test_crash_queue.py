"""kill -9 at any moment of `seg apply` / `seg run` leaves the tag queue as an uninterrupted
command would: the operations are queued in the same transaction as the memberships they follow.

Each case runs the real `seg` in a subprocess and kills it (SIGKILL) at a pause point
(`SEGFLOW_TEST_PAUSE_AT`, segflow/lifecycle/killpoints.py) or after a random delay. Right after
the kill the database holds either the state from before the command or the state after it,
never memberships without their tag operations; running the command again then ends with the
queue and the tag ledger of a run that was never interrupted.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.pg import cloned
from tests.runtime import helpers as h

REPO = Path(__file__).resolve().parents[2]
END = dt.date(2026, 6, 30)
APPLIED = dt.date(2026, 6, 1)
FIRST_RULES = """
segment repeaters { where order_count >= 2 }
"""
RULES = """
segment repeaters {
  tag = "seg-repeater"
  where order_count >= 2
}
segment active {
  tag = "seg-active"
  where days_since_last_order <= 30
}
segment big { where total_spent >= 250 }
"""
SEG = shutil.which("seg", path=str(Path(sys.executable).parent)) or "seg"
QUEUE = ("SELECT customer_id, tag, op, segment_id, status, reason, last_error"
         " FROM segflow.tag_outbox ORDER BY customer_id, lower(tag), op_id")
LEDGER = ("SELECT customer_id, tag, segment_id FROM segflow.applied_tags"
          " ORDER BY customer_id, lower(tag)")
# by segment id: a rolled-back apply used up ordinals (a sequence), the re-apply takes new ones
MEMBERS = ("SELECT c.customer_id, array_agg(s.segment_id ORDER BY s.segment_id)"
           " FROM segflow.customer_segments AS c, unnest(c.segments) AS x"
           " JOIN segflow.segments AS s ON s.ordinal = x GROUP BY 1 ORDER BY 1")


@pytest.fixture(scope="module")
def gen_template(make_template) -> str:
    return make_template("crash_queue_store",
                         lambda c: h.load_generated_store(c, 300, 5, END))


def _project(root: Path, rules: str) -> Path:
    root.mkdir(exist_ok=True)
    shutil.copy(REPO / "seg.toml", root / "seg.toml")
    (root / "segments").mkdir(exist_ok=True)
    (root / "segments" / "rules.seg").write_text(rules)
    return root


def _snapshot(url: str) -> tuple:
    with psycopg.connect(url, autocommit=True) as c:
        return tuple(c.execute(q).fetchall() for q in (MEMBERS, QUEUE, LEDGER))


def _seg(root: Path, url: str, args: list[str], pause: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "SEG_DATABASE_URL": url}
    env.pop("SEGFLOW_TEST_PAUSE_AT", None)
    if pause:
        env["SEGFLOW_TEST_PAUSE_AT"] = pause
    return subprocess.Popen([SEG, "-C", str(root), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _complete(root: Path, url: str, args: list[str]) -> None:
    child = _seg(root, url, args)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err


def _kill_at(child: subprocess.Popen, pause: str | None, delay: float) -> None:
    """SIGKILL the child when it reports the pause point, or after `delay` seconds."""
    try:
        if pause:
            assert child.stderr is not None
            for line in child.stderr:
                if f"paused at {pause}" in line:
                    break
            else:
                pytest.fail(f"{pause} was never reached (exit {child.wait()})")
        else:
            time.sleep(delay)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)


def _backend_gone(url: str) -> None:
    """The killed client's backend notices, rolls back what was not committed, and exits."""
    with psycopg.connect(url, autocommit=True) as c:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                            " current_database() AND application_name = 'segflow'").fetchone()
            if row and row[0] == 0:
                return
            time.sleep(0.05)
    pytest.fail("the killed command's backend is still there")


def _prepare_apply(url: str, root: Path) -> None:
    """An applied rule without tags and a daily run: `seg apply` of RULES then adds tags."""
    with h.connect(url) as c:
        h.plan_apply(c, h.project(FIRST_RULES, root), root, today=APPLIED)
        h.run(c, APPLIED, root)


def _prepare_run(url: str, root: Path) -> None:
    """RULES applied and run on APPLIED: `seg run --date END` then moves members and tags."""
    with h.connect(url) as c:
        h.plan_apply(c, h.project(RULES, root), root, today=APPLIED)
        h.run(c, APPLIED, root)


CASES = {
    "apply": (_prepare_apply, ["apply", "--auto-approve"], "apply"),
    "run": (_prepare_run, ["run", "--date", END.isoformat()], "run"),
}
POINTS = ["memberships", "queued", "committed"]
RANDOM_KILLS = 3


@pytest.mark.parametrize("command", sorted(CASES))
def test_kill_at_any_moment_leaves_the_tag_queue_as_an_uninterrupted_run(
        command, pg_cluster, gen_template, tmp_path):
    prepare, args, prefix = CASES[command]
    root = _project(tmp_path / "project", RULES)
    with cloned(pg_cluster, gen_template, "crash") as url:
        prepare(url, root)
        before = _snapshot(url)
        started = time.monotonic()
        _complete(root, url, args)
        took = time.monotonic() - started
        expected = _snapshot(url)
    assert expected[1], "the command queued no tag operations: the test would prove nothing"
    assert expected[0] != before[0]
    rnd = random.Random(15_3)
    kills = [(f"{prefix}:{p}", 0.0) for p in POINTS]
    kills += [(None, rnd.uniform(0.2, took * 1.1)) for _ in range(RANDOM_KILLS)]
    for pause, delay in kills:
        with cloned(pg_cluster, gen_template, "crash") as url:
            prepare(url, root)
            child = _seg(root, url, args, pause)
            _kill_at(child, pause, delay)
            _backend_gone(url)
            after_kill = _snapshot(url)
            where = pause or f"{delay:.2f} s"
            assert after_kill in (before, expected), (
                f"killed at {where}: memberships and tag queue do not belong together")
            if pause and pause.endswith("committed"):
                assert after_kill == expected, f"killed at {where}: the commit was lost"
            _complete(root, url, args)  # the re-apply / same-day re-run
            assert _snapshot(url) == expected, f"killed at {where}: the queue differs"
