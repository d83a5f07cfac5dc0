"""Benchmark: `seg sync` against the fake Admin API with Shopify's real standard-plan limit
(bucket 1,000 points, restoring 100 points/s, 10 points per tagsAdd).

The rate limit allows at most (bucket + restore_rate x T) / cost operations in T seconds from a
full bucket; the figure is the operations done over that, for a clean run and, side by side in
the same process, a run with a fraction of requests failing (500 / 429 / dropped / slow).

Usage: python bench/tag_sync.py [--operations 1000] [--batch-size 25] [--fault-rate 0.1]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from common import throwaway_cluster

from segflow.compiler.project import load_sources
from segflow.connectors.shopify.client import AdminClient
from segflow.connectors.shopify.config import DEFAULT_API_VERSION
from segflow.connectors.shopify.fake import MUTATION_COST, FakeOptions, FakeShopify
from segflow.destinations.shopify.sync import sync
from segflow.dsl.parser import parse
from segflow.engines.postgres.db import connect, migrate
from segflow.lifecycle.apply import apply_plan
from segflow.lifecycle.plan import plan_for

TOKEN = "bench-token"
BUCKET, RESTORE = 1000.0, 100.0


def measure(conn, root: Path, tags: list[str], fault_rate: float, batch_size: int, day) -> dict:
    """Apply one more tagged segment (every customer in it) and time the sync of its adds."""
    text = "".join(f'segment bench_{i} {{ tag = "{t}" where tags contains "bench" }}\n'
                   for i, t in enumerate(tags))
    project = load_sources([parse(text, "bench.seg")], root)
    plan = plan_for(conn, project, "UTC", day)
    apply_plan(conn, plan, root, "UTC")  # queues one tagsAdd per customer
    options = FakeOptions(token=TOKEN, bucket_size=BUCKET, restore_rate=RESTORE,
                          fault_rate=fault_rate, retry_after="1", slow_seconds=0.5,
                          auto_create=True, seed=7)
    with FakeShopify(options) as fake, AdminClient(
            f"{fake.url}/admin/api/{DEFAULT_API_VERSION}/graphql.json", TOKEN, timeout=5) as client:
        started = time.perf_counter()
        result = sync(conn, client, batch_size=batch_size)
        seconds = time.perf_counter() - started
        stats = dict(fake.stats)
    allowed = (BUCKET + RESTORE * seconds) / MUTATION_COST
    return {"fault_rate": fault_rate, "done": result.done, "seconds": seconds,
            "ops_per_s": result.done / seconds, "allowed": allowed,
            "fraction": result.done / allowed, "requests": result.requests,
            "retries": result.retries, "throttled": result.throttled,
            "faults": sum(v for k, v in stats.items() if k.startswith("fault_"))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--operations", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=25)
    ap.add_argument("--fault-rate", type=float, default=0.1)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="segflow-bench-repo-"))
    cluster = contextlib.ExitStack()
    try:
        url = cluster.enter_context(throwaway_cluster())  # prints the machine line
        print(f"limit: bucket {BUCKET:g} points, restore {RESTORE:g}/s, {MUTATION_COST} points "
              f"per tagsAdd -> at most {RESTORE / MUTATION_COST:g} ops/s after the first "
              f"{BUCKET / MUTATION_COST:g}; {args.operations:,} operations per run, "
              f"{args.batch_size} mutations per request")
        import datetime as dt

        day = dt.date(2026, 6, 30)
        with connect(url, autocommit=True) as conn:
            migrate(conn)
            conn.execute("INSERT INTO store.customers (customer_id, tags) SELECT i, '{bench}'"
                         " FROM generate_series(1, %s) AS i", (args.operations,))
            rows = [measure(conn, root, ["seg-a"], 0.0, args.batch_size, day),
                    measure(conn, root, ["seg-a", "seg-b"], args.fault_rate, args.batch_size,
                            day)]
        print("| run | ops | seconds | ops/s | allowed ops in that time | fraction | requests "
              "| retried | throttled |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['fault_rate']:.0%} faults | {r['done']:,} | {r['seconds']:.1f} | "
                  f"{r['ops_per_s']:.2f} | {r['allowed']:.0f} | **{r['fraction']:.1%}** | "
                  f"{r['requests']} | {r['retries']} | {r['throttled']} |")
        clean, faulty = rows
        print(f"target >= 90% of the limit: clean {'met' if clean['fraction'] >= 0.9 else 'MISSED'}"
              f", with faults {'met' if faulty['fraction'] >= 0.9 else 'missed'}; faulty / clean "
              f"= {faulty['fraction'] / clean['fraction']:.2f}")
    finally:
        cluster.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
