"""Benchmark: the daily run on a large generated store, against two baselines measured in the
same run on the same database:

(a) one hand-written GROUP BY customer_id pass computing the base facts over the orders;
(b) the segments evaluated one query each straight on the orders (each segment's own
    self-contained query from `seg compile`); timed on a sample and extrapolated, as stated.

Usage: python bench/daily_run.py [--customers 1000000] [--segments 100] [--naive-sample 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_project
from segflow.compiler.query import render, segment_query
from segflow.runtime.apply import apply_plan
from segflow.runtime.db import connect, migrate
from segflow.runtime.pgserver import Cluster
from segflow.runtime.plan import plan_for
from segflow.runtime.run import run_day
from segflow.runtime.synth import generate_store

ROOT = Path(__file__).resolve().parent.parent
TZ = "UTC"

VARIATIONS = [
    "order_count >= {n}",
    "total_spent >= {m}",
    "days_since_last_order <= {d}",
    'first_order.product = "{p}"',
    'orders.source = "{s}"',
    'first_order.utm_source = "{u}"',
    'province = "{r}"',
    'tags contains "{t}"',
    'first_order.product = "{p}" and later_orders.product = "{q}"',
    "orders[date >= today - {d}d].count >= {k}",
]
PRODUCTS = ["Coffee Starter Kit", "Coffee Beans Refill", "Espresso Blend", "Decaf Beans",
            "Cold Brew Pack", "Ceramic Mug", "Pour Over Kit", "Burr Grinder", "Tea Sampler"]


def segments_text(count: int) -> str:
    out = []
    for i in range(count):
        rule = VARIATIONS[i % len(VARIATIONS)].format(
            n=2 + i % 6, m=100 + 50 * (i % 9), d=30 + 15 * (i % 12), p=PRODUCTS[i % 9],
            q=PRODUCTS[(i + 1) % 9], s=["web", "pos", "facebook", "amazon"][i % 4],
            u=["facebook", "google", "instagram", "newsletter"][i % 4],
            r=["ON", "QC", "BC", "CA", "NY"][i % 5], t=["vip", "wholesale", "newsletter"][i % 3],
            k=1 + i % 3)
        out.append(f"segment bench_{i:03d} {{\n  where {rule}\n}}\n")
    return "\n".join(out)


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.python_implementation()} " \
           f"{platform.python_version()}"


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    s = time.perf_counter() - t
    print(f"  {label}: {s:.1f} s", flush=True)
    return s, out


@contextlib.contextmanager
def statement_times(enabled: bool):
    """Time every statement the connection runs; print the slowest (for --profile)."""
    if not enabled:
        yield
        return
    import psycopg

    original = psycopg.Connection.execute
    times: list[tuple[float, str]] = []

    def execute(self, query, params=None, **kw):
        t = time.perf_counter()
        try:
            return original(self, query, params, **kw)
        finally:
            text = query if isinstance(query, str) else query.as_string(self)
            times.append((time.perf_counter() - t, " ".join(text.split())[:150]))

    psycopg.Connection.execute = execute
    try:
        yield
    finally:
        psycopg.Connection.execute = original
        for s, text in sorted(times, reverse=True)[:12]:
            print(f"    {s:6.2f} s  {text}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--segments", type=int, default=100)
    ap.add_argument("--naive-sample", type=int, default=10)
    ap.add_argument("--profile", action="store_true",
                    help="print the slowest statements of the day-2 run")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="segflow-bench-"))
    home.chmod(0o755)
    cluster = Cluster(home, ephemeral=True)
    try:
        cluster.start()
        with cluster.connect() as c:
            version = c.execute("SHOW server_version").fetchone()[0]
        url = cluster.url()
        print(f"machine: {machine()}, PostgreSQL {version}")
        day = dt.date(2026, 6, 30)
        with connect(url, autocommit=True) as conn:
            migrate(conn)
            timed("generate + load store", lambda: generate_store(conn, args.customers, 7, day))
            counts = conn.execute("SELECT (SELECT count(*) FROM store.customers),"
                                  " (SELECT count(*) FROM store.orders),"
                                  " (SELECT count(*) FROM store.order_lines)").fetchone()
            print(f"store: {counts[0]:,} customers, {counts[1]:,} orders, {counts[2]:,} lines")
            conn.execute("VACUUM ANALYZE")
            examples = load_project([ROOT / "segments"], ROOT)
            extra = args.segments - len(examples.segments)
            tmp = Path(tempfile.mkdtemp())
            shutil.copytree(ROOT / "segments", tmp / "segments")
            (tmp / "segments" / "bench.seg").write_text(segments_text(extra))
            project = load_project([tmp / "segments"], tmp)
            print(f"segments: {len(project.segments)} ({len(examples.segments)} examples + "
                  f"{extra} variations)")
            start = day - dt.timedelta(days=1)
            _, plan = timed("plan (first, all segments)",
                            lambda: plan_for(conn, project, TZ, start))
            timed("apply", lambda: apply_plan(conn, plan, tmp, TZ))
            timed("seg run, day 1 (every customer enters)", lambda: run_day(conn, start, TZ, tmp))
            with statement_times(args.profile):
                run_s, _ = timed("seg run, day 2 (the daily job)",
                                 lambda: run_day(conn, day, TZ, tmp))
            facts_sql = """
                CREATE TEMP TABLE bench_facts AS
                SELECT customer_id, count(*) AS n, sum(net_amount) AS spent,
                       min(placed_at) AS first_at, max(placed_at) AS last_at
                FROM store.orders
                WHERE customer_id IS NOT NULL AND cancelled_at IS NULL AND NOT is_test
                GROUP BY customer_id
            """
            conn.execute("SET jit = off")
            facts_s, _ = timed("(a) hand-written facts pass", lambda: conn.execute(facts_sql))
            ev = Evaluation(day, TZ)
            sample = sorted(project.segments)[: args.naive_sample]

            def naive():
                for sid in sample:
                    conn.execute(f"SELECT count(*) FROM ({render(segment_query(project, sid, ev))}) q")

            naive_sample_s, _ = timed(f"(b) naive: {len(sample)} segments one query each", naive)
            naive_s = naive_sample_s / len(sample) * len(project.segments)
        print()
        print(f"seg run (day 2): {run_s:.1f} s")
        print(f"(a) facts pass: {facts_s:.1f} s -> run / facts = {run_s / facts_s:.2f}x "
              "(target <= 3x)")
        print(f"(b) naive, extrapolated from {len(sample)} to {len(project.segments)} segments: "
              f"{naive_s:.0f} s -> naive / run = {naive_s / run_s:.1f}x (target >= 10x)")
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
