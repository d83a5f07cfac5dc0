"""A generated store with a few weeks of recorded history, built once per test session.

Runs every day of two windows with a gap between them (days whose membership is carried), a
segment applied halfway (no history before that), and after each run a copy of the current
memberships in `test_snapshots`: the independent record the tests rebuild membership from.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pg import cloned
from tests.runtime import helpers as h
from tests.runtime.conftest import conn

__all__ = ["conn"]  # the runtime's fixture, on the shared `store_db` below

END = dt.date(2026, 6, 30)  # the generated store's last day
CUSTOMERS = 1500
SEED = 11
APPLIED = dt.date(2026, 5, 25)
LATE_APPLIED = dt.date(2026, 6, 3)
RUN_DAYS = [APPLIED + dt.timedelta(days=n) for n in range(14)] + \
    [dt.date(2026, 6, 12) + dt.timedelta(days=n) for n in range(6)]

RULES = """
group lifecycle {
}

group everything {
}

segment one_timers {
  groups = [lifecycle, everything]
  where order_count = 1
}

segment repeaters {
  groups = [lifecycle, everything]
  where order_count >= 2
}

segment active {
  groups = [lifecycle, everything]
  where days_since_last_order <= 10
}

segment big_spenders {
  groups = [everything]
  where total_spent >= 150
}
"""

LATE_RULES = RULES + """
segment late {
  where days_since_last_order <= 5
}
"""


def _build(conn: psycopg.Connection) -> None:
    h.load_generated_store(conn, CUSTOMERS, SEED, END)
    conn.execute("CREATE TABLE public.test_snapshots (day date, segment_id text,"
                 " customer_id bigint)")
    root = Path(tempfile.mkdtemp(prefix="analytics-"))
    h.plan_apply(conn, h.project(RULES, root), root, today=APPLIED)
    for day in RUN_DAYS:
        if day == LATE_APPLIED:  # applied as of the last run's day, after that run
            h.plan_apply(conn, h.project(LATE_RULES, root), root, today=day)
            _snapshot(conn, day - dt.timedelta(days=1))
        h.run(conn, day, root)
        _snapshot(conn, day)


def _snapshot(conn: psycopg.Connection, day: dt.date) -> None:
    """The memberships at the end of `day`, as the current-state table holds them now."""
    conn.execute("DELETE FROM public.test_snapshots WHERE day = %s", (day,))
    conn.execute(
        "INSERT INTO public.test_snapshots SELECT %s, s.segment_id, c.customer_id"
        " FROM segflow.customer_segments c JOIN segflow.segments s"
        " ON s.ordinal = ANY(c.segments)", (day,))


@pytest.fixture(scope="session")
def history_template(make_template) -> str:
    return make_template("analytics_history", _build)


@pytest.fixture(scope="session")
def store_db(pg_cluster, history_template) -> Iterator[str]:
    """One database per worker shared by the tests that only read (the reports only read);
    `conn` (tests/runtime/conftest.py) connects to it."""
    with cloned(pg_cluster, history_template, "an_shared") as url:
        yield url


@pytest.fixture(scope="session")
def model(store_db):
    """The plain-Python model of the shared store (tests/analytics/model.py)."""
    from tests.analytics.model import Model

    with h.connect(store_db) as c:
        return Model.load(c)


@pytest.fixture
def fresh_conn(pg_cluster, history_template) -> Iterator[psycopg.Connection]:
    """A connection to a private copy, for a test that writes."""
    name = f"an_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    pg_cluster.create_database(name, template=history_template)
    try:
        with h.connect(pg_cluster.url(name)) as c:
            yield c
    finally:
        pg_cluster.drop_database(name)
