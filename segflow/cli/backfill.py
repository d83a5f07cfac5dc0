"""`seg backfill`: history for days that were never run, as `seg run --date` would record it."""

from __future__ import annotations

import datetime as dt

import click

from segflow.cli.main import Context, pass_ctx
from segflow.cli.progress import progress

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@click.argument("segments", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every applied segment.")
@click.option("--from", "start", type=DAY, required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=DAY,
              help="Last day, inclusive (default: the last daily run's day, or yesterday when "
                   "none ran yet).")
@click.option("--overwrite", is_flag=True,
              help="Replace days that already have history (else they are left alone).")
@click.option("--lock-timeout", type=float, default=None,
              help="Seconds to wait for a running apply / run before failing (default: wait).")
@pass_ctx
def backfill(ctx: Context, segments: tuple[str, ...], all_: bool, start: dt.datetime,
             end: dt.datetime | None, overwrite: bool, lock_timeout: float | None) -> None:
    """Record memberships, events, metrics and activity for past days (marked as backfilled)."""
    from segflow.cli.lang import today_in
    from segflow.engines.postgres.state import read_state
    from segflow.lifecycle.backfill import backfill as run_backfill

    if bool(segments) == all_:
        raise click.UsageError("name the segments to backfill, or pass --all")
    tz = ctx.config.store.timezone
    with ctx.database(writes=True) as conn:
        if end is None:
            last = read_state(conn).last_run_day
            last_day = last or today_in(tz) - dt.timedelta(days=1)
        else:
            last_day = end.date()
        conn.commit()
        conn.autocommit = True
        total = max((last_day - start.date()).days + 1, 1)
        with progress("backfilling days", total) as tick:
            result = run_backfill(
                conn, ctx.root, tz, None if all_ else list(segments), start.date(), last_day,
                overwrite=overwrite, lock_timeout=lock_timeout,
                progress=lambda _day, done, days: tick(done, days),
                say=lambda m: click.echo(m, err=True))
    click.echo(
        f"Backfilled {result.segments} segment(s) from {start.date()} to {last_day}: "
        f"{result.written} day snapshots written, {result.skipped} already had history; "
        f"{result.entered} entered, {result.left} left ({result.seconds:.1f} s).")


def register(cli: click.Group) -> None:
    cli.add_command(backfill)
