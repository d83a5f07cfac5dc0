"""The run lock: `--lock-timeout 0` means "don't wait", any other value waits at most that long."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from segflow.engines.postgres import locking
from segflow.engines.postgres.state import RUN_LOCK
from segflow.errors import SegflowError


def _holder(url: str) -> psycopg.Connection:
    holder = psycopg.connect(url)
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
    return holder


def _try(url: str, timeout_s: float | None, box: list) -> None:
    with psycopg.connect(url) as conn:
        try:
            with conn.transaction():
                locking.acquire(conn, timeout_s=timeout_s)
            box.append("acquired")
        except SegflowError as exc:
            box.append(exc)


def _attempt(url: str, timeout_s: float | None, within: float) -> tuple[list, float]:
    """Try to take the lock in a thread; give up waiting for the thread after `within` s."""
    box: list = []
    started = time.monotonic()
    worker = threading.Thread(target=_try, args=(url, timeout_s, box), daemon=True)
    worker.start()
    worker.join(within)
    return box, time.monotonic() - started


@pytest.mark.parametrize("timeout_s", [0, 0.0, 0.0004])
def test_lock_timeout_zero_fails_at_once_when_locked(store_db, timeout_s):
    holder = _holder(store_db)
    try:
        box, took = _attempt(store_db, timeout_s, within=5)
    finally:
        holder.close()
    assert box, "acquire(timeout_s=0) waited for the lock instead of failing at once"
    assert isinstance(box[0], SegflowError)
    assert "holds the lock" in str(box[0])
    assert took < 2


def test_lock_timeout_zero_takes_a_free_lock(store_db):
    box, _ = _attempt(store_db, 0, within=5)
    assert box == ["acquired"]


def test_lock_timeout_waits_about_that_long(store_db):
    holder = _holder(store_db)
    try:
        box, took = _attempt(store_db, 0.5, within=10)
    finally:
        holder.close()
    assert isinstance(box[0], SegflowError) and "after 0.5 s" in str(box[0])
    assert 0.4 < took < 5


def test_no_lock_timeout_waits_until_the_lock_is_free(store_db):
    holder = _holder(store_db)
    box: list = []
    worker = threading.Thread(target=_try, args=(store_db, None, box), daemon=True)
    worker.start()
    time.sleep(1.0)
    assert not box  # still waiting
    holder.close()
    worker.join(10)
    assert box == ["acquired"]
