"""One apply / run / backfill at a time: a transaction-scoped PostgreSQL advisory lock."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from segflow.errors import SegflowError
from segflow.runtime.state import RUN_LOCK


def acquire(conn: psycopg.Connection, *, timeout_s: float | None = None,
            on_wait: Callable[[str], None] | None = None) -> None:
    """Take the lock for the current transaction; wait (saying so), or fail after a timeout."""
    got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (RUN_LOCK,)).fetchone()
    if got and got[0]:
        return
    if on_wait:
        on_wait("another seg apply / run is in progress: waiting for it to finish"
                + (f" (at most {timeout_s:g} s)" if timeout_s else ""))
    ms = int((timeout_s or 0) * 1000)
    conn.execute(f"SET LOCAL lock_timeout = {ms}")
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (RUN_LOCK,))
    except psycopg.errors.LockNotAvailable:
        raise SegflowError(
            f"another seg apply / run still holds the lock after {timeout_s:g} s; try again later"
        ) from None
    conn.execute("SET LOCAL lock_timeout = 0")
