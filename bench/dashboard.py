"""Benchmark: the dashboard's heaviest pages against the 300 ms budget.

Builds the state directly in segflow's tables (much faster than a year of daily runs): a
generated store of 10,000 customers, 500 applied segments in 10 groups, a year (365 days) of daily
metrics and order activity for every segment (the first 90 days marked backfilled), current
memberships and a year of membership events (entries spread over the first 60 days, a quarter of
the memberships leaving and coming back later), which the analytics sections read. Then times,
side by side in one run, each page three ways: its data alone (the runtime read and analytics
functions), the whole page in process (data + templates + SVG), and over HTTP through
`seg serve`'s server. Median of --repeat requests after one warm-up.

Usage: python bench/dashboard.py [--segments 500] [--days 365] [--repeat 15]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from common import throwaway_cluster

from segflow.analytics import reports
from segflow.analytics.features import features_report
from segflow.analytics.journey import journey_report
from segflow.analytics.membership import WORK_MEM
from segflow.analytics.overlap import overlap_report
from segflow.analytics.revenue import revenue_report
from segflow.engines.postgres.db import connect, migrate
from segflow.sources.synth import generate_store
from segflow.web import pages
from segflow.web.app import Dashboard, ReadOnlyDatabase
from segflow.web.render import render
from segflow.web.server import make
from segflow.web.view import View

BUDGET_MS = 300.0
END = dt.date(2026, 6, 30)


def build_state(conn, segments: int, days: int) -> None:
    """Applied segments, groups, a year of history and memberships, straight into the tables."""
    first = END - dt.timedelta(days=days - 1)
    with conn.transaction():
        conn.execute("""
            INSERT INTO segflow.groups (group_id, title)
            SELECT 'group_' || g, 'Group ' || g FROM generate_series(0, 9) g""")
        conn.execute("""
            INSERT INTO segflow.segments (segment_id, ordinal, title, path, fingerprint)
            SELECT format('bench_%%s', lpad(i::text, 3, '0')), i + 1,
                   format('Bench segment %%s', i), 'segments/bench.seg', md5(i::text)
            FROM generate_series(0, %s - 1) i""", (segments,))
        conn.execute("""
            INSERT INTO segflow.segment_versions (segment_id, fingerprint, source, compiled_sql)
            SELECT segment_id, fingerprint,
                   format(E'segment %s {\\n  title = "%s"\\n  where order_count >= %s and '
                          'orders[date >= today - 90d].count >= 1\\n}\\n',
                          segment_id, title, ordinal % 5 + 1),
                   'SELECT customer_id FROM store.customers'
            FROM segflow.segments""")
        conn.execute("""
            INSERT INTO segflow.group_segments (group_id, segment_id)
            SELECT 'group_' || (ordinal % 10), segment_id FROM segflow.segments""")
        conn.execute("""
            INSERT INTO segflow.daily_metrics
            SELECT d::date, s.segment_id, 500 + (s.ordinal * 7 + n * 3) %% 900,
                   0.3 + ((s.ordinal + n) %% 40) / 100.0, 150 + (s.ordinal + n) %% 90,
                   55 + (s.ordinal * n) %% 20, 2 + ((s.ordinal + n) %% 30) / 10.0,
                   40 + (s.ordinal + n) %% 25, n < 90
            FROM segflow.segments s,
                 generate_series(%s::date, %s::date, interval '1 day') WITH ORDINALITY AS t(d, n)
            """, (first, END))
        conn.execute("""
            INSERT INTO segflow.daily_activity
            SELECT d::date, s.segment_id, (s.ordinal + n) %% 17, ((s.ordinal + n) %% 17) * 61.5,
                   n < 90
            FROM segflow.segments s,
                 generate_series(%s::date, %s::date, interval '1 day') WITH ORDINALITY AS t(d, n)
            """, (first, END))
        conn.execute("""
            INSERT INTO segflow.customer_segments (customer_id, segments)
            SELECT customer_id, array(SELECT DISTINCT 1 + ((customer_id * k) %% %s)::int
                                      FROM generate_series(1, 40) k ORDER BY 1)
            FROM store.customers""", (segments,))
        conn.execute("""
            WITH m AS (SELECT customer_id, unnest(segments) AS ord
                       FROM segflow.customer_segments)
            INSERT INTO segflow.membership_events (day, segment_ord, customer_id, entered,
                                                   backfilled)
            SELECT day, ord, customer_id, entered, day < %(first)s::date + 90 FROM (
                SELECT %(first)s::date + ((customer_id * 31 + ord * 17) %% 60)::int AS day, ord,
                       customer_id, true AS entered FROM m
                UNION ALL
                SELECT %(first)s::date + 100 + ((customer_id + ord) %% 200)::int, ord, customer_id, false
                FROM m WHERE (customer_id + ord) %% 4 = 0
                UNION ALL
                SELECT %(first)s::date + 130 + ((customer_id + ord) %% 200)::int, ord, customer_id, true
                FROM m WHERE (customer_id + ord) %% 4 = 0
            ) AS e""", {"first": first})
        conn.execute("UPDATE segflow.state SET last_run_day = %s, revision = 1", (END,))
    conn.execute("VACUUM ANALYZE")


def median_ms(fn, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=500)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    cluster = contextlib.ExitStack()
    server = None
    try:
        url = cluster.enter_context(throwaway_cluster())
        with connect(url, autocommit=True) as conn:
            migrate(conn)
            generate_store(conn, args.customers, 7, END)
            t = time.perf_counter()
            build_state(conn, args.segments, args.days)
            built = time.perf_counter() - t
            rows = conn.execute("SELECT (SELECT count(*) FROM segflow.daily_metrics),"
                                " (SELECT count(*) FROM segflow.daily_activity),"
                                " (SELECT count(*) FROM segflow.membership_events),"
                                " (SELECT count(*) FROM store.order_lines)").fetchone()
        print(f"state: {args.segments} segments in 10 groups, {args.days} days each "
              f"({rows[0]:,} metric rows, {rows[1]:,} activity rows, {rows[2]:,} membership "
              f"events), {args.customers:,} customers, {rows[3]:,} order lines "
              f"(built in {built:.1f} s)")
        database = ReadOnlyDatabase(url)
        app = Dashboard(database, View())
        server = make(app, "127.0.0.1", 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        segment = "bench_250"
        with connect(url) as conn:
            group = [r[0] for r in conn.execute(
                "SELECT segment_id FROM segflow.group_segments WHERE group_id = 'group_3'"
                " ORDER BY 1")]
        month, year = END - dt.timedelta(days=29), END - dt.timedelta(days=364)
        first = END - dt.timedelta(days=args.days - 1)
        cases = [  # (label, path, query, what the page reads)
            ("grid (all segments)", "/", "", lambda c: reports.segment_grid(c)),
            ("segment page (a year)", f"/segments/{segment}.html", "",
             lambda c: (reports.history(c, segment), reports.activity(c, segment),
                        reports.members(c, segment, limit=50),
                        revenue_report(c, segment, month, END))),
            ("  with revenue, 365 d", f"/segments/{segment}.html", f"from={year}",
             lambda c: (reports.history(c, segment), reports.activity(c, segment),
                        reports.members(c, segment, limit=50),
                        revenue_report(c, segment, year, END))),
            ("features page", f"/segments/{segment}/features.html", "",
             lambda c: features_report(c, segment)),
            (f"group page ({len(group)} segs)", "/groups/group_3.html", "",
             lambda c: (reports.segment_grid(c, group="group_3"),
                        journey_report(c, "group_3", first, END), overlap_report(c, group))),
        ]
        print()
        print(f"{'page':<24}{'HTML KiB':>9}{'data ms':>9}{'page ms':>9}{'HTTP ms':>9}"
              f"{'HTTP/budget':>13}")
        for label, path, query, data_fn in cases:
            def data(fn=data_fn):
                with database.transaction() as c:
                    c.execute("SELECT set_config('work_mem', %s, true)", (WORK_MEM,))  # as pages
                    fn(c)

            def inproc(p=path, q=query):
                status, _, _ = app.respond("GET", p, q)
                assert status == 200, (p, q, status)

            def http(p=path, q=query):
                with urllib.request.urlopen(base + p + (f"?{q}" if q else "")) as r:
                    return r.read()

            size = len(http()) / 1024
            d, pg, h = (median_ms(fn, args.repeat) for fn in (data, inproc, http))
            print(f"{label:<24}{size:>9.0f}{d:>9.1f}{pg:>9.1f}{h:>9.1f}{h / BUDGET_MS:>12.2f}x")
        print("\nwhere the time of the analytics goes (data only, ms):")
        inline = View(static=True)  # the static report's segment page has the features inline
        for label, fn in [
            ("revenue, last 30 days", lambda c: revenue_report(c, segment, month, END)),
            ("features (5 lists, top 10)", lambda c: features_report(c, segment)),
            ("segment page with features inline, in process",
             lambda c: render(pages.segment_page(c, segment, inline))),
            (f"journey, {len(group)} segments, {first} to {END}",
             lambda c: journey_report(c, "group_3", first, END)),
            (f"overlap, {len(group)} segments ({len(group) * (len(group) - 1) // 2} pairs)",
             lambda c: overlap_report(c, group)),
        ]:
            def timed(fn=fn):
                with database.transaction() as c:
                    c.execute("SELECT set_config('work_mem', %s, true)", (WORK_MEM,))
                    fn(c)

            print(f"  {label:<58}{median_ms(timed, args.repeat):>8.1f}")
        print(f"\nbudget: {BUDGET_MS:.0f} ms per page over HTTP (HTTP/budget < 1 meets it)")
        database.close()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        cluster.close()


if __name__ == "__main__":
    main()
