"""Benchmark: generate a synthetic store and load it into a fresh database.

    python bench/generate.py [--customers 1000000] [--seed 42] [--end-date YYYY-MM-DD]

Starts a throwaway (non-ephemeral, i.e. durable settings) PostgreSQL cluster in a fresh
directory under /tmp, migrates a fresh database, runs `generate_store`, prints the sizes, the
machine and the timings, and removes the cluster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from segflow.engines.postgres.db import connect, migrate
from segflow.engines.postgres.pgserver import Cluster
from segflow.sources.synth import generate_store


def _ram_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--ephemeral", action="store_true",
                        help="fsync off, wal_level minimal (to tell I/O from CPU costs)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="segflow-bench-gen-"))
    home.chmod(0o755)  # as root, the server account must reach it
    cluster = Cluster(home, ephemeral=args.ephemeral)
    try:
        cluster.start()
        cluster.create_database("bench")
        with connect(cluster.url("bench")) as conn:
            migrate(conn)
            version = conn.execute("SHOW server_version").fetchone()[0]
            t0 = time.perf_counter()
            summary = generate_store(conn, args.customers, args.seed, args.end_date,
                                     progress=None)
            seconds = time.perf_counter() - t0
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM store.customers), (SELECT count(*) FROM store.orders),"
                " (SELECT count(*) FROM store.order_lines),"
                " (SELECT count(*) FILTER (WHERE customer_order_index IS NOT NULL)"
                "  FROM store.orders)").fetchone()
        rows = counts[0] + counts[1] + counts[2]
        print(f"machine: {os.cpu_count()} cores, {_ram_gib():.1f} GiB RAM, PostgreSQL {version}")
        print(f"customers: {counts[0]:,}  orders: {counts[1]:,} ({counts[3]:,} counted)  "
              f"lines: {counts[2]:,}")
        print(f"generate + load (one transaction, incl. index rebuild, order index check, "
              f"ANALYZE): {seconds:.1f} s, {rows / seconds:,.0f} rows/s")
        print(summary.line())
        print("phases: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in summary.phases))
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
