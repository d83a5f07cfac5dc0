"""One apply / run / backfill at a time: a transaction-scoped PostgreSQL advisory lock."""

from __future__ import annotations

import math
from collections.abc import Callable

import psycopg

from segflow.engines.postgres.state import RUN_LOCK
from segflow.errors import SegflowError


def acquire(conn: psycopg.Connection, *, timeout_s: float | None = None,
            on_wait: Callable[[str], None] | None = None) -> None:
    """Take the lock for the current transaction; wait (saying so), or fail after a timeout.

    `timeout_s` None waits as long as it takes; 0 does not wait at all (fails at once when
    another apply / run holds the lock); any other value waits at most that many seconds.
    """
    got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (RUN_LOCK,)).fetchone()
    if got and got[0]:
        return
    if timeout_s is not None and timeout_s <= 0:
        raise SegflowError("another seg apply / run holds the lock (--lock-timeout 0: not "
                           "waiting); try again later")
    if on_wait:
        on_wait("another seg apply / run is in progress: waiting for it to finish"
                + (f" (at most {timeout_s:g} s)" if timeout_s else ""))
    # PostgreSQL reads lock_timeout = 0 as "wait forever": a timeout rounds up to at least 1 ms
    ms = 0 if timeout_s is None else max(1, math.ceil(timeout_s * 1000))
    conn.execute(f"SET LOCAL lock_timeout = {ms}")
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
    except psycopg.errors.LockNotAvailable:
        raise SegflowError(
            f"another seg apply / run still holds the lock after {timeout_s:g} s; try again later"
        ) from None
    conn.execute("SET LOCAL lock_timeout = 0")
