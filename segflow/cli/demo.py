"""`seg demo`: everything on the embedded database in one command."""

from __future__ import annotations

import sys

import click

from segflow.cli.lang import load
from segflow.cli.main import Context, pass_ctx


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
    from segflow.runtime.demo import run_demo
    from segflow.runtime.reports import segment_grid

    project = load(ctx)

    def say(message: str) -> None:
        click.echo(message, err=True)

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
    from segflow.runtime.db import connect

    with connect(result.url) as conn:
        day, rows = segment_grid(conn, sort="customer_count")
    emit(rows, GRID, "table", title=f"Segments on {day}", headers=HEADERS)
    click.echo(f"Done in {result.seconds:.0f} s. Explore: `seg ls --group lifecycle`, "
               "`seg show loyals`, `seg members win_back`, `seg history active`, "
               "`seg activity repeaters`, `seg plan`.")
    click.echo("See it all in your browser: `seg serve` (http://127.0.0.1:8765/).")


def register(cli: click.Group) -> None:
    cli.add_command(demo)
