"""Benchmark: `seg validate` and a full compile of 1,000 generated segment files.

Generates a project of N varied segment files (facts, customer attributes, order scopes,
filtered order sets, static lists, dates, segment references within a file), then times, each as a
subprocess so interpreter start-up and imports are included:

1. `seg validate` over the whole project;
2. one process that loads the project and compiles every segment to PostgreSQL text with
   `segment_query` + `render` (what `seg compile` does, once per segment);
3. for reference, one process compiling the whole project over shared facts (`compile_project`,
   the daily run's shape) and rendering it.

    python bench/validate_compile.py [--files 1000] [--keep DIR] [--profile]

Target: validate + compile of 1,000 files in under 2 s, start-up included, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
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


COMPILE_ALL = """
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


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd[:3])}\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout.strip()


def _seg_command() -> list[str]:
    seg = Path(sys.executable).with_name("seg")
    return [str(seg)] if seg.exists() else [sys.executable, "-c",
                                            "from segflow.cli.main import main; main()"]


def machine() -> str:
    ram = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        ram = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} (other work slows the figures)"
    return (f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}){ram}, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}{load}")


def best_of(n: int, cmd: list[str], cwd: Path) -> tuple[float, str]:
    runs = [timed(cmd, cwd) for _ in range(n)]
    return min(runs, key=lambda t: t[0])


def profile(root: Path) -> None:
    """Print the top of a cProfile of `seg validate` and of the per-segment compile."""
    validate = ("import sys\nfrom segflow.cli.main import main\n"
                f"sys.argv = ['seg', '-C', {str(root)!r}, 'validate']\nmain()\n")
    compile_all = f"import sys\nsys.argv = ['x', {str(root)!r}]\n" + COMPILE_ALL
    for label, code in (("seg validate", validate), ("compile every segment", compile_all)):
        script = root / "_profile.py"
        script.write_text(code, encoding="utf-8")
        print(f"\n--- cProfile of {label} (by internal time)")
        out = subprocess.run([sys.executable, "-m", "cProfile", "-s", "tottime", str(script)],
                             cwd=root, capture_output=True, text=True).stdout
        print("\n".join(out.splitlines()[:25]))
        script.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the best is kept")
    parser.add_argument("--keep", type=Path, help="generate the project here and keep it")
    parser.add_argument("--profile", action="store_true",
                        help="also print the top of a cProfile of validate and compile")
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
        segments = make_project(root, args.files)
        size = sum(p.stat().st_size for p in (root / "segments").rglob("*.seg"))
        print(f"project: {args.files} files, {segments} segments, {size / 1024:.0f} KiB of rules")
        print(f"machine: {machine()}")

        startup, _ = best_of(args.repeat, [sys.executable, "-c", "pass"], root)
        imports, _ = best_of(args.repeat, [sys.executable, "-c",
                                           "import segflow.cli.main, segflow.compiler.query"], root)
        validate, out = best_of(args.repeat, [*_seg_command(), "-C", str(root), "validate"], root)
        print(f"  {out}")
        compile_all, out = best_of(args.repeat, [sys.executable, "-c", COMPILE_ALL, str(root)], root)
        n, chars = out.split()
        shared, out2 = best_of(args.repeat, [sys.executable, "-c", COMPILE_SHARED, str(root)], root)
        total = validate + compile_all

        rows = [
            ("python start-up alone", startup, None),
            ("import segflow CLI + compiler", imports, None),
            ("seg validate (all files)", validate, args.files / validate),
            (f"compile every segment alone ({n} queries, {int(chars) // 1024} KiB SQL)",
             compile_all, args.files / compile_all),
            (f"compile project over shared facts ({int(out2.split()[1]) // 1024} KiB SQL)",
             shared, args.files / shared),
        ]
        print(f"\n{'step':<66} {'seconds':>8} {'files/s':>9}")
        for name, secs, rate in rows:
            print(f"{name:<66} {secs:8.3f} {'' if rate is None else f'{rate:9.0f}'}")
        verdict = "meets" if total < TARGET_SECONDS else "MISSES"
        print(f"\nvalidate + compile: {total:.3f} s for {args.files} files "
              f"({verdict} the {TARGET_SECONDS:.0f} s target)")

        if args.profile:
            profile(root)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
