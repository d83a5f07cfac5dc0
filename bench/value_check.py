"""Benchmark: `seg plan` / `seg validate --store` looking up the rules' text values in the store.

One query per text field used (see segflow/lifecycle/value_check.py), timed on a generated store;
also the plan itself, for scale.

Usage: python bench/value_check.py [--customers 100000] [--segments 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from common import TZ, bench_project, statement_times, throwaway_cluster, timed

from segflow.engines.postgres.db import connect, migrate
from segflow.lifecycle.plan import plan_for
from segflow.lifecycle.value_check import text_values, value_warnings
from segflow.sources.synth import generate_store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--segments", type=int, default=100)
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
        project, _tmp = bench_project(args.segments)
        fields = text_values(project)
        print(f"segments: {len(project.segments)}; text fields compared: {len(fields)} "
              f"({', '.join(sorted(fields))}), {sum(map(len, fields.values()))} values")
        timed("plan (all segments)", lambda: plan_for(conn, project, TZ, day))
        with statement_times(True, top=len(fields) + 4):
            _, warnings = timed("value check", lambda: value_warnings(conn, project))
        print(f"  warnings: {len(warnings)}")
        for w in warnings[:5]:
            print(f"    {w.message}")


if __name__ == "__main__":
    main()
