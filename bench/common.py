"""What the benchmarks share: the machine line, timing, a throwaway cluster, the bench project."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segflow.compiler.project import Project, load_project
from segflow.engines.postgres.pgserver import Cluster

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


# issue 19: segments using the rule language's second-edition constructs, added to the others
SECOND_EDITION = [
    # nth: the Nth order, time between orders, what happened to an order
    "second_order.days_since_previous <= 14",
    'later_orders[product = "Coffee Beans Refill" and days_after_first <= 30].count >= 1',
    'order(3).product = "Burr Grinder"',
    'previous_order.channel = "online_store" and last_order.channel = "pos"',
    "cancelled_orders.count >= 1 or orders[refunded > 0 and date >= today - 90d].count >= 1",
]


def second_edition_text() -> str:
    return "\n".join(f"segment second_{i:03d} {{\n  where {rule}\n}}\n"
                     for i, rule in enumerate(SECOND_EDITION))


def segments_text(count: int) -> str:
    """`count` generated segments of the ten kinds above, with varied thresholds."""
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


# lines: segments using lines[...] and the set aggregates (issue 19, items 3 and 4)
LINES_VARIATIONS = [
    'lines[product = "{p}" and date >= today - {d}d].quantity >= {k}',
    'lines[product = "{p}"].revenue >= {m}',
    'lines[product = "{p}" and order.source = "{s}"].count >= 1',
    'orders[product = "{p}"].days_since_last >= {d}',
    "orders.distinct(product_type) >= {k}",
    "later_orders.average >= {m}",
    "orders[date >= today - 365d].max >= {m}",
    'lines[order.product = "{p}" and product != "{p}"].count >= {k}',
    "orders.days_since_first between {d} and 400",
    'lines[product = "{q}"].days_since_last <= {d}',
]


def lines_segments_text(count: int) -> str:
    """`count` segments of the `LINES_VARIATIONS` kinds, with varied thresholds."""
    out = []
    for i in range(count):
        rule = LINES_VARIATIONS[i % len(LINES_VARIATIONS)].format(
            d=30 + 15 * (i % 12), k=1 + i % 3, m=50 + 25 * (i % 5), p=PRODUCTS[i % 9],
            q=PRODUCTS[(i + 4) % 9], s=["web", "pos"][i % 2])
        out.append(f"segment lines_{i:03d} {{\n  where {rule}\n}}\n")
    return "\n".join(out)


def bench_project(segments: int) -> tuple[Project, Path]:
    """The example segments plus generated variations up to `segments`, in a temporary root,
    plus the SECOND_EDITION segments."""
    examples = load_project([ROOT / "segments"], ROOT)
    root = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "segments", root / "segments")
    (root / "segments" / "bench.seg").write_text(segments_text(segments - len(examples.segments)))
    (root / "segments" / "second_edition.seg").write_text(second_edition_text())
    return load_project([root / "segments"], root), root


def machine() -> str:
    """Cores, CPU model, memory, Python and the load average when the benchmark starts."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        models = [line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f}")


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    s = time.perf_counter() - t
    print(f"  {label}: {s:.1f} s", flush=True)
    return s, out


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A fresh PostgreSQL cluster for one benchmark; prints the machine line; yields its URL."""
    home = Path(tempfile.mkdtemp(prefix="segflow-bench-"))
    home.chmod(0o755)
    cluster = Cluster(home, ephemeral=True)
    try:
        cluster.start()
        with cluster.connect() as c:
            version = c.execute("SHOW server_version").fetchone()[0]
        print(f"machine: {machine()}, PostgreSQL {version}", flush=True)
        yield cluster.url()
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def statement_times(enabled: bool, top: int = 12):
    """Time every statement run through psycopg; print the slowest (a benchmark's --profile)."""
    if not enabled:
        yield
        return
    import psycopg

    original = psycopg.Connection.execute
    totals: dict[str, list[float]] = {}

    def execute(self, query, params=None, **kw):
        t = time.perf_counter()
        try:
            return original(self, query, params, **kw)
        finally:
            text = query if isinstance(query, str) else query.as_string(self)
            entry = totals.setdefault(" ".join(text.split())[:120], [0.0, 0])
            entry[0] += time.perf_counter() - t
            entry[1] += 1

    psycopg.Connection.execute = execute
    try:
        yield
    finally:
        psycopg.Connection.execute = original
        print(f"    statements: {sum(v[0] for v in totals.values()):.1f} s in all")
        for text, (s, n) in sorted(totals.items(), key=lambda kv: -kv[1][0])[:top]:
            print(f"    {s:7.2f} s  x{n:<4} {text}")
