"""Benchmark: the analytics commands on a generated store with weeks of recorded history.

Generates a store into a throwaway cluster, applies the example segments (segments/), records
`--days` daily runs, then times, on the same database in the same run:
- each report (revenue in both cohorts, features, journey, overlap);
- against a naive day-by-day revenue (one membership query per day, orders joined per day),
  the shape the set-based query avoids;
- the reports again with an extra index on membership_events (segment_ord, customer_id, day),
  to say whether a migration adding it would pay.

Usage: python bench/analytics.py [--customers 50000] [--days 30]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from pathlib import Path

from segflow.analytics.features import features_report
from segflow.analytics.journey import journey_report
from segflow.analytics.membership import MEMBERS_ON, resolve_segments
from segflow.analytics.orders import COUNTED, ORDER_DAY, day_bounds
from segflow.analytics.overlap import overlap_report
from segflow.analytics.revenue import revenue_report
from segflow.compiler.project import load_project
from segflow.engines.postgres.db import connect, migrate
from segflow.lifecycle.apply import apply_plan
from segflow.lifecycle.plan import plan_for
from segflow.lifecycle.run import run_day
from segflow.sources.synth import generate_store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from common import throwaway_cluster

ROOT = Path(__file__).resolve().parent.parent
TZ = "UTC"
END = dt.date(2026, 6, 30)


def timed(label: str, fn, repeat: int = 3) -> float:
    """Best of `repeat` (a shared machine: the minimum is the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    print(f"  {label}: {best:.2f} s", flush=True)
    return best


def naive_revenue(conn, segment: str, start: dt.date, end: dt.date) -> None:
    """Day by day: the members at the end of each day, then that day's orders."""
    (seg,) = resolve_segments(conn, [segment])
    day = start
    while day <= end:
        conn.execute(
            f"SELECT count(*), sum(o.net_amount) FROM store.orders AS o"
            f" JOIN ({MEMBERS_ON}) AS m ON m.customer_id = o.customer_id"
            f" WHERE {COUNTED} AND o.placed_at >= %(start_at)s AND o.placed_at < %(end_at)s"
            f" AND {ORDER_DAY} = %(until)s",
            {"ords": [seg.ordinal], "until": day, **day_bounds(day, day, TZ)}).fetchone()
        day += dt.timedelta(days=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    cluster = contextlib.ExitStack()
    try:
        url = cluster.enter_context(throwaway_cluster())  # prints the machine line
        with connect(url, autocommit=True) as conn:
            migrate(conn)
            generate_store(conn, args.customers, 7, END)
            conn.execute("VACUUM ANALYZE")
            project = load_project([ROOT / "segments"], ROOT)
            first = END - dt.timedelta(days=args.days - 1)
            apply_plan(conn, plan_for(conn, project, TZ, first), ROOT, TZ)
            t = time.perf_counter()
            for n in range(args.days):
                run_day(conn, first + dt.timedelta(days=n), TZ, ROOT)
            runs = time.perf_counter() - t
            conn.execute("ANALYZE segflow.membership_events")
            sizes = conn.execute(
                "SELECT (SELECT count(*) FROM store.customers), (SELECT count(*) FROM store.orders),"
                " (SELECT count(*) FROM segflow.membership_events)").fetchone()
            print(f"store: {sizes[0]:,} customers, {sizes[1]:,} orders; {len(project.segments)} "
                  f"segments, {args.days} daily runs ({runs:.0f} s), {sizes[2]:,} membership "
                  "events")

            def reports() -> dict[str, float]:
                return {
                    "revenue daily": timed("seg revenue active (daily)", lambda: revenue_report(
                        conn, "active", first, END, cohort="daily", timezone=TZ)),
                    "revenue start": timed("seg revenue active (start)", lambda: revenue_report(
                        conn, "active", first, END, cohort="start", timezone=TZ)),
                    "features": timed("seg features repeaters", lambda: features_report(
                        conn, "repeaters", timezone=TZ)),
                    "journey": timed("seg journey lifecycle", lambda: journey_report(
                        conn, "lifecycle", first, END)),
                    "overlap": timed("seg overlap (4 segments)", lambda: overlap_report(
                        conn, ["active", "repeaters", "loyals", "churned"])),
                }

            print("reports:")
            plain = reports()
            naive = timed(f"naive revenue, one query per day ({args.days} days)",
                          lambda: naive_revenue(conn, "active", first, END))
            conn.execute("CREATE INDEX bench_events_seg_customer ON segflow.membership_events"
                          " (segment_ord, customer_id, day)")
            conn.execute("ANALYZE segflow.membership_events")
            print("with an index on membership_events (segment_ord, customer_id, day):")
            indexed = reports()
        print()
        print(f"naive day-by-day revenue / set-based = {naive / plain['revenue daily']:.1f}x")
        for name in plain:
            print(f"{name}: {plain[name]:.2f} s, with the extra index {indexed[name]:.2f} s "
                  f"({plain[name] / indexed[name]:.2f}x)")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
