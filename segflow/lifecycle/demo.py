"""`seg demo`: the newcomer's one command, on the embedded database only.

Starts the project's embedded cluster, generates a store, applies the example segments and
records two weeks of daily runs, so every command (ls, show, history, activity...) has
something to show. It never touches a configured database, and refuses to replace store data
that it did not generate itself.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from segflow.compiler.evaluation import zone
from segflow.compiler.project import Project
from segflow.config import Config
from segflow.engines.postgres.db import connect, migrate
from segflow.errors import SegflowError
from segflow.lifecycle.apply import apply_plan
from segflow.lifecycle.plan import plan_for
from segflow.lifecycle.run import run_day
from segflow.sources.store_origin import check_replaceable, mark_generated


@dataclass(frozen=True)
class DemoResult:
    customers: int
    orders: int
    segments: int
    days: int
    seconds: float
    url: str


def run_demo(config: Config, project: Project, *, customers: int, days: int, seed: int,
             reset: bool, say: Callable[[str], None],
             progress: Callable[[int, int], None] | None = None) -> DemoResult:
    from segflow.engines.postgres.pgserver import project_cluster
    from segflow.sources.synth import generate_store

    if config.database_url():
        raise SegflowError("seg demo only uses the embedded database, but one is configured "
                           "(SEG_DATABASE_URL or [database] url); run it in a folder without one")
    started = time.perf_counter()
    cluster = project_cluster(config.root)
    say("starting the embedded PostgreSQL cluster")
    cluster.start()
    where = cluster.status().data_dir
    say(f"  data in {where}")
    url = cluster.url()
    tz = config.store.timezone
    today = dt.datetime.now(zone(tz)).date()
    first = today - dt.timedelta(days=days - 1)
    with connect(url, autocommit=True) as conn:
        if not reset:
            check_replaceable(conn, command="seg demo", force_flag="--reset",
                              where="the embedded database")
        conn.execute("DROP SCHEMA IF EXISTS segflow CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS store CASCADE")
        migrate(conn)
        say(f"generating a store of {customers:,} customers (seed {seed})")
        with conn.transaction():
            summary = generate_store(conn, customers, seed, today, progress)
            mark_generated(conn, "seg demo")
        say(f"  {summary.line()}")
        say(f"applying {len(project.segments)} example segments as of {first}")
        plan = plan_for(conn, project, tz, first)
        apply_plan(conn, plan, project.root, tz)
        for n in range(days):
            day = first + dt.timedelta(days=n)
            result = run_day(conn, day, tz, project.root)
            say(f"  daily run {day}: {result.entered} entered, {result.left} left "
                f"({result.seconds:.1f} s)")
    return DemoResult(summary.customers, summary.orders, len(project.segments), days,
                      time.perf_counter() - started, url)

