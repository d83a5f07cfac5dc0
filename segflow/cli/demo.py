"""`seg demo`: everything on the embedded database in one command."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

import click

from segflow.cli.lang import load
from segflow.cli.main import Context, pass_ctx
from segflow.config import CONFIG_FILE
from segflow.errors import SegflowError

DEMO_FOLDER = "segflow-demo"  # where the example project goes when the folder holds other things


def _visible(folder: Path) -> list[Path]:
    """What a folder holds besides hidden entries (.venv, .git, the cluster under .segflow)."""
    return [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []


def _write_example(folder: Path) -> list[str]:
    """The packaged example project (seg.toml, segments/*.seg) written into `folder`."""
    source = files("segflow.scaffold").joinpath("demo")
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(source.joinpath(CONFIG_FILE).read_text(encoding="utf-8"),
                                      encoding="utf-8")
    written.append(CONFIG_FILE)
    (folder / "segments").mkdir(exist_ok=True)
    for item in sorted(source.joinpath("segments").iterdir(), key=lambda i: i.name):
        if item.name.endswith(".seg"):
            (folder / "segments" / item.name).write_text(item.read_text(encoding="utf-8"),
                                                         encoding="utf-8")
            written.append(f"segments/{item.name}")
    return written


def demo_project(ctx: Context, say) -> tuple[Context, Path | None]:
    """The project the demo runs in: this one when it has its segments folder; else the example
    project, written here (an empty folder) or into ./segflow-demo (a folder holding other
    things, or a project without its segments). Returns the context and where it was written."""
    root = ctx.root
    if (root / CONFIG_FILE).is_file() and ctx.config.segments_dir.is_dir():
        return ctx, None
    target = root if not (root / CONFIG_FILE).exists() and not _visible(root) else root / DEMO_FOLDER
    if target != root and (target / CONFIG_FILE).is_file():
        return Context(target), target  # the example written by an earlier `seg demo`
    if target != root and _visible(target):
        raise SegflowError(f"no segments folder at {ctx.config.segments_dir}, and {target} "
                           "holds other files: run `seg demo` in an empty folder, or `seg init`")
    written = _write_example(target)
    say(f"no segments folder here: wrote the example project into {target} "
        f"({', '.join(written)})")
    return Context(target), target


@click.command()
@click.option("--customers", type=click.IntRange(min=100), default=10_000, show_default=True)
@click.option("--days", type=click.IntRange(min=1, max=60), default=14, show_default=True,
              help="Days of daily runs to record, ending today.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--reset", is_flag=True,
              help="Replace store data that seg demo did not generate (all of it).")
@pass_ctx
def demo(ctx: Context, customers: int, days: int, seed: int, reset: bool) -> None:
    """Try segflow: embedded database, a generated store, the example segments applied, two
    weeks of daily runs, and the segment table."""
    from segflow.analytics.reports import segment_grid
    from segflow.lifecycle.demo import run_demo

    def say(message: str) -> None:
        click.echo(message, err=True)

    ctx, written_to = demo_project(ctx, say)
    project = load(ctx)

    progress = None
    bar = None
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(stderr=True), transient=True)
        task = bar.add_task("generating", total=customers)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        bar.start()
    try:
        result = run_demo(ctx.config, project, customers=customers, days=days, seed=seed,
                          reset=reset, say=say, progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    from segflow.cli.output import emit
    from segflow.cli.read_cmds import GRID, HEADERS
    from segflow.engines.postgres.db import connect

    with connect(result.url) as conn:
        day, rows = segment_grid(conn, sort="customer_count")
    emit(rows, GRID, "table", title=f"Segments on {day}", headers=HEADERS)
    click.echo(f"Done in {result.seconds:.0f} s. Explore: `seg ls --group lifecycle`, "
               "`seg show loyals`, `seg members win_back`, `seg history active`, "
               "`seg activity repeaters`, `seg plan`.")
    if written_to is not None and written_to != Path.cwd().resolve():
        click.echo(f"The example project is in {written_to}: `cd {written_to}` first, "
                   "so the commands find it.")
    click.echo("See it all in your browser: `seg serve` (http://127.0.0.1:8765/).")


def register(cli: click.Group) -> None:
    cli.add_command(demo)
