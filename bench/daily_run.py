"""Benchmark: the daily run on a large generated store, against two baselines measured in the
same run on the same database:

(a) one hand-written GROUP BY customer_id pass computing the base facts over the orders;
(b) the segments evaluated one query each straight on the orders (each segment's own
    self-contained query from `seg compile`); timed on a sample and extrapolated, as stated.

Usage: python bench/daily_run.py [--customers 1000000] [--segments 100] [--naive-sample 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from common import (
    TZ,
    bench_project,
    lines_segments_text,
    statement_times,
    throwaway_cluster,
    timed,
)

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_project
from segflow.compiler.query import render, segment_query
from segflow.engines.postgres.db import connect, migrate
from segflow.lifecycle.apply import apply_plan
from segflow.lifecycle.plan import plan_for
from segflow.lifecycle.run import run_day
from segflow.sources.synth import generate_store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--segments", type=int, default=100)
    ap.add_argument("--naive-sample", type=int, default=10)
    ap.add_argument("--profile", action="store_true",
                    help="print the slowest statements of the day-2 run")
    ap.add_argument("--lines-segments", type=int, default=0,
                    help="add this many segments using lines[...] and the set aggregates")
    args = ap.parse_args()
    day = dt.date(2026, 6, 30)
    with throwaway_cluster() as url, connect(url, autocommit=True) as conn:
        migrate(conn)
        timed("generate + load store", lambda: generate_store(conn, args.customers, 7, day))
        counts = conn.execute("SELECT (SELECT count(*) FROM store.customers),"
                              " (SELECT count(*) FROM store.orders),"
                              " (SELECT count(*) FROM store.order_lines)").fetchone()
        print(f"store: {counts[0]:,} customers, {counts[1]:,} orders, {counts[2]:,} lines")
        conn.execute("VACUUM ANALYZE")
        project, tmp = bench_project(args.segments)
        if args.lines_segments:
            (tmp / "segments" / "lines.seg").write_text(lines_segments_text(args.lines_segments))
            project = load_project([tmp / "segments"], tmp)
        print(f"segments: {len(project.segments)} (the examples + generated variations)")
        start = day - dt.timedelta(days=1)
        _, plan = timed("plan (first, all segments)", lambda: plan_for(conn, project, TZ, start))
        timed("apply", lambda: apply_plan(conn, plan, tmp, TZ))
        timed("seg run, day 1 (after an apply: rebuilds)", lambda: run_day(conn, start, TZ, tmp))
        with statement_times(args.profile):
            run_s, _ = timed("seg run, day 2 (the daily job)",
                             lambda: run_day(conn, day, TZ, tmp))
        mode = conn.execute("SELECT detail FROM segflow.runs ORDER BY run_id DESC"
                            " LIMIT 1").fetchone()[0]
        print(f"  day 2: {mode}")
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
    print(f"seg run (day 2): {run_s:.1f} s (target < 60 s)")
    print(f"(a) facts pass: {facts_s:.1f} s -> run / facts = {run_s / facts_s:.2f}x "
          "(target <= 3x)")
    print(f"(b) naive, extrapolated from {len(sample)} to {len(project.segments)} segments: "
          f"{naive_s:.0f} s -> naive / run = {naive_s / run_s:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
