"""Benchmark: `seg validate` (parse, check and compile every segment) over 1,000 generated files.

Generates a project of N varied segment files (facts, customer attributes, order scopes,
filtered order sets, static lists, dates, segment references within a file), then times, each as a
subprocess so interpreter start-up and imports are included (best of --repeat, wall and CPU):

1. `seg validate` with no parse cache (SEG_NO_CACHE=1): parse every file with Lark, check the
   project, compile every segment over shared facts to sqlglot trees (the daily run's shape);
2. the same with the parse cache: cold (no cache yet, the run writes it) and warm;
3. one process that loads the project, compiles it over shared facts and renders all the SQL text;
4. one process that compiles every segment alone to a self-contained query and renders it (what
   `seg compile SEGMENT` prints, once per segment; run once, it is slow);
5. with --baseline DIR (a checkout of an older segflow), that version's `seg validate`, side by side.

    python bench/validate_compile.py [--files 1000] [--repeat 5] [--baseline DIR] [--keep DIR]

Target (issue 3): validate + compile of 1,000 files in under 2 s, start-up included, 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 2.0

PRODUCTS = ["Coffee Starter Kit", "Coffee Beans Refill", "Espresso Blend", "Ceramic Mug",
            "Cold Brew Pack", "Gift Card", "Grinder Pro"]
PROVINCES = ["ON", "QC", "BC", "AB", "NY", "CA", "TX"]
SOURCES = ["web", "pos", "shopify_draft_order", "instagram"]
CHANNELS = ["online_store", "pos", "social", "marketplace", "draft_order", "other"]
UTM = ["facebook", "instagram", "google", "tiktok", "newsletter"]
TAGS = ["vip", "wholesale", "loyal", "staff", "influencer"]


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rule(r: random.Random) -> str:
    """One random atomic condition, drawn from every kind of rule."""
    n = r.randint(1, 10)
    kind = r.randrange(16)
    if kind == 0:
        return f"order_count >= {n}"
    if kind == 1:
        return f"total_spent between {n * 10} and {n * 100}"
    if kind == 2:
        return f"days_since_last_order {r.choice(['<=', '>', '<', '>='])} {n * 15}"
    if kind == 3:
        return f"last_order_date >= today - {n}{r.choice('dwmy')}"
    if kind == 4:
        return f"first_order_date between 2024-0{r.randint(1, 9)}-01 and 2025-0{r.randint(1, 9)}-28"
    if kind == 5:
        return f"province in [{', '.join(_q(p) for p in r.sample(PROVINCES, 3))}]"
    if kind == 6:
        return f"tags {r.choice(['=', 'contains', '!='])} {_q(r.choice(TAGS))}"
    if kind == 7:
        return r.choice(["accepts_marketing", "not accepts_sms_marketing", "email is set",
                         'email contains "@example.com"', 'city starts with "mont"'])
    if kind == 8:
        scope = r.choice(["orders", "first_order", "second_order", "last_order", "later_orders"])
        return f"{scope}.product = {_q(r.choice(PRODUCTS))}"
    if kind == 9:
        return f"first_order.utm_source in [{_q(r.choice(UTM))}, {_q(r.choice(UTM))}]"
    if kind == 10:
        return f"not later_orders.sku starts with {_q('BEAN-')}"
    if kind == 11:
        return f"orders[date >= today - {n * 30}d].count >= {r.randint(1, 4)}"
    if kind == 12:
        return (f"orders[product = {_q(r.choice(PRODUCTS))} and source = "
                f"{_q(r.choice(SOURCES))}].total >= {n * 20}")
    if kind == 13:
        return f"later_orders[channel = {_q(r.choice(CHANNELS))}].count >= 1"
    if kind == 14:
        return f"average_order_value > {n * 10}.5 or purchase_interval <= {n * 7}"
    return "orders.discount_code is set and orders.quantity >= 2"


def _expr(r: random.Random) -> str:
    parts = [_rule(r) for _ in range(r.randint(1, 4))]
    out = parts[0]
    for p in parts[1:]:
        op = r.choice(["and", "and", "or"])
        out = f"({out}) {op} {p}" if op == "or" and r.random() < 0.5 else f"{out} {op} {p}"
    return out


def segment_file(i: int, r: random.Random) -> tuple[str, int]:
    """The text of file number i, and how many segments it declares."""
    g = f"g{i:04d}"
    lines = [f"# generated file {i}", f"group {g} {{", f'  title = "Group {i}"', "}", ""]
    names = []
    for j in range(r.randint(3, 5)):
        name = f"s{i:04d}_{j}"
        lines += [f"segment {name} {{", f'  title = "Segment {i}.{j}"', f"  groups = [{g}]"]
        if j % 3 == 0:
            lines.append(f'  tag = "seg-{i}-{j}"')
        if j == 1 and i % 10 == 0:
            lines.append('  list = "lists/static.csv"')
        elif names and r.random() < 0.5:
            ref = r.choice(names)
            lines.append(f"  where segment {ref} {r.choice(['and', 'or', 'except'])} {_expr(r)}")
        else:
            lines.append(f"  where {_expr(r)}")
        lines += ["}", ""]
        names.append(name)
    return "\n".join(lines), len(names)


def make_project(root: Path, files: int, seed: int = 42) -> int:
    r = random.Random(seed)
    (root / "segments").mkdir(parents=True)
    (root / "lists").mkdir()
    (root / "lists" / "static.csv").write_text("customer_id\n1\n2\n3\n", encoding="utf-8")
    (root / "seg.toml").write_text('[project]\nsegments = "segments"\n\n[store]\n'
                                   'timezone = "America/Toronto"\n', encoding="utf-8")
    segments = 0
    for i in range(files):
        text, n = segment_file(i, r)
        sub = root / "segments" / f"team{i % 10}"
        sub.mkdir(exist_ok=True)
        (sub / f"file{i:04d}.seg").write_text(text, encoding="utf-8")
        segments += n
    return segments


COMPILE_SHARED = """
import datetime as dt, sys
from pathlib import Path
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_project
from segflow.compiler.query import compile_project, render
root = Path(sys.argv[1])
project = load_project([root / "segments"], root)
compiled = compile_project(project, Evaluation(dt.date(2025, 3, 15), "America/Toronto"))
size = len(render(compiled.facts_query())) + sum(len(render(p)) for p in compiled.predicates.values())
print(len(compiled.predicates), size)
"""

COMPILE_EACH = """
import datetime as dt, sys
from pathlib import Path
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_project
from segflow.compiler.query import render, segment_query
root = Path(sys.argv[1])
project = load_project([root / "segments"], root)
ev = Evaluation(dt.date(2025, 3, 15), "America/Toronto")
size = sum(len(render(segment_query(project, s, ev))) for s in project.segments)
print(len(project.segments), size)
"""

SEG = "from segflow.cli.main import main; main()"


def timed(cmd: list[str], cwd: Path, env: dict | None = None, before=None) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + sys) of one subprocess, and its output."""
    if before:
        before()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd[:3])}\n{proc.stdout}\n{proc.stderr}")
    return wall, cpu, proc.stdout.strip()


def best_of(n: int, cmd: list[str], cwd: Path, env: dict | None = None, before=None):
    runs = [timed(cmd, cwd, env, before) for _ in range(n)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    ram = ""
    try:
        with open("/proc/meminfo") as f:
            ram = f", {int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    from importlib.metadata import version

    return (f"{os.cpu_count()} cores ({_cpu_model()}){ram}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, lark {version('lark')}, "
            f"sqlglot {version('sqlglot')}")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per step; the best is kept")
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of an older segflow: time its `seg validate` too")
    parser.add_argument("--skip-each", action="store_true",
                        help="skip compiling every segment alone (the slow step)")
    parser.add_argument("--keep", type=Path, help="generate the project here and keep it")
    args = parser.parse_args()

    tmp = None
    if args.keep:
        root = args.keep
        if root.exists():
            shutil.rmtree(root)
    else:
        tmp = tempfile.mkdtemp(prefix="segflow-bench-")
        root = Path(tmp) / "project"
    try:
        run(args, root)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, root: Path) -> None:
    segments = make_project(root, args.files)
    size = sum(p.stat().st_size for p in (root / "segments").rglob("*.seg"))
    print(f"project: {args.files} files, {segments} segments, {size / 1024:.0f} KiB of rules")
    print(f"machine: {machine()}")
    print(f"load average (1, 5, 15 min) before: {load()}")
    py, n = sys.executable, args.repeat
    seg = [py, "-c", SEG, "-C", str(root), "validate"]
    cache = root / ".segflow" / "cache"
    drop_cache = lambda: shutil.rmtree(cache, ignore_errors=True)  # noqa: E731
    rows = []  # (label, wall, cpu, True: the target's step / False: per file / None: fixed)
    rows.append(("python -c pass", *best_of(n, [py, "-c", "pass"], root)[:2], None))
    empty = root / "_empty"
    (empty / "segments").mkdir(parents=True, exist_ok=True)
    (empty / "seg.toml").write_text((root / "seg.toml").read_text(encoding="utf-8"), encoding="utf-8")
    rows.append(("seg validate, empty project (start-up and imports)",
                 *best_of(n, [py, "-c", SEG, "-C", str(empty), "validate"], empty)[:2], None))
    if args.baseline:
        base = [py, "-c", f"import sys; sys.path.insert(0, {str(args.baseline)!r}); {SEG}",
                "-C", str(root), "validate"]
        rows.append((f"baseline: seg validate of {args.baseline} (parse + check only)",
                     *best_of(n, base, root)[:2], True))
    wall, cpu, out = best_of(n, seg, root, {"SEG_NO_CACHE": "1"})
    print(f"  {out}")
    rows.append(("seg validate, no parse cache", wall, cpu, True))
    use_cache = {"SEG_NO_CACHE": "", "CI": ""}
    rows.append(("seg validate, cold cache (run writes it)",
                 *best_of(n, seg, root, use_cache, before=drop_cache)[:2], True))
    rows.append(("seg validate, warm cache", *best_of(n, seg, root, use_cache)[:2], True))
    wall, cpu, out = best_of(n, [py, "-c", COMPILE_SHARED, str(root)], root)
    rows.append((f"load + compile project + render all SQL ({int(out.split()[1]) // 1024} KiB)",
                 wall, cpu, False))
    if not args.skip_each:
        wall, cpu, out = best_of(1, [py, "-c", COMPILE_EACH, str(root)], root)
        queries, chars = out.split()
        rows.append((f"compile + render every segment alone ({queries} queries, "
                     f"{int(chars) // 1024} KiB SQL; 1 run)", wall, cpu, False))
    print(f"load average after: {load()}")

    print(f"\n{'step (subprocess, best of ' + str(n) + ')':<72} {'wall s':>7} {'cpu s':>7} "
          f"{'files/s':>8}")
    for label, wall, cpu, kind in rows:
        rate = "" if kind is None else f"{args.files / wall:8.0f}"
        print(f"{label:<72} {wall:7.3f} {cpu:7.3f} {rate}")
    for label, wall, cpu, target in rows:
        if target is True:
            verdict = "meets" if wall < TARGET_SECONDS else "MISSES"
            print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU -> {verdict} the "
                  f"{TARGET_SECONDS:.0f} s target (wall)")


if __name__ == "__main__":
    main()
