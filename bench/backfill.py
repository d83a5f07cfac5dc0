"""Benchmark: `seg backfill` of a year of daily history, against the naive way measured in the
same run on the same database: every segment evaluated for a day by its own query straight on
the orders (its `seg compile` query), timed on a sample of days and segments and extrapolated
to every segment and day (stated as such).

Usage: python bench/backfill.py [--customers 100000] [--segments 100] [--days 365]
                                [--naive-days 2] [--naive-segments 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from common import TZ, bench_project, statement_times, throwaway_cluster, timed

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from segflow.engines.postgres.db import connect, migrate
from segflow.lifecycle.apply import apply_plan
from segflow.lifecycle.backfill import backfill
from segflow.lifecycle.plan import plan_for
from segflow.lifecycle.run import run_day
from segflow.sources.synth import generate_store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--segments", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--naive-days", type=int, default=2)
    ap.add_argument("--naive-segments", type=int, default=10)
    ap.add_argument("--profile", action="store_true", help="print the slowest statements")
    args = ap.parse_args()
    end = dt.date(2026, 6, 30)
    with throwaway_cluster() as url, connect(url, autocommit=True) as conn:
        migrate(conn)
        timed("generate + load store", lambda: generate_store(conn, args.customers, 7, end))
        counts = conn.execute("SELECT (SELECT count(*) FROM store.customers),"
                              " (SELECT count(*) FROM store.orders)").fetchone()
        conn.execute("VACUUM ANALYZE")
        project, tmp = bench_project(args.segments)
        n_segments = len(project.segments)
        print(f"store: {counts[0]:,} customers, {counts[1]:,} orders; "
              f"{n_segments} segments; {args.days} days")
        timed("plan + apply", lambda: apply_plan(conn, plan_for(conn, project, TZ, end), tmp, TZ))
        timed("seg run (today)", lambda: run_day(conn, end, TZ, tmp))
        start = end - dt.timedelta(days=args.days)
        last = end - dt.timedelta(days=1)
        ticks: list[float] = []
        with statement_times(args.profile):
            backfill_s, result = timed(
                f"seg backfill --all, {args.days} days",
                lambda: backfill(conn, tmp, TZ, None, start, last,
                                 progress=lambda d, done, total: ticks.append(time.perf_counter())))
        print(f"  {result.written:,} day snapshots, {result.entered:,} entered, "
              f"{result.left:,} left")
        sample_days = [start + dt.timedelta(days=i * args.days // args.naive_days)
                       for i in range(args.naive_days)]
        step = max(1, n_segments // args.naive_segments)
        sample_segments = sorted(project.segments)[::step][: args.naive_segments]

        def naive():
            for day in sample_days:
                ev = Evaluation(day, TZ)
                for sid in sample_segments:
                    conn.execute(
                        f"SELECT count(*) FROM ({render(segment_query(project, sid, ev))}) q")

        queries = len(sample_segments) * len(sample_days)
        naive_s, _ = timed(f"(naive) {len(sample_segments)} segments x {len(sample_days)} days,"
                           " one query each on the orders", naive)
        per_query = naive_s / queries
        naive_total = per_query * n_segments * args.days
    print()
    print(f"seg backfill: {backfill_s:.1f} s for {args.days} days x {n_segments} segments "
          f"({backfill_s / args.days:.2f} s per day; target < 300 s)")
    print(f"naive, extrapolated from {queries} queries ({per_query:.3f} s each) to "
          f"{n_segments * args.days:,}: {naive_total:.0f} s -> naive / backfill = "
          f"{naive_total / backfill_s:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
