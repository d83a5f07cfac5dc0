"""`seg generate`: a deterministic synthetic store, loaded into the database or written as CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from segflow.cli.main import Context, pass_ctx
from segflow.cli.progress import progress


@click.command()
@click.option("--customers", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="How many customers (about 2.8 orders each, 10% never order).")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Same seed, same store.")
@click.option("--end-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of the two years of history (default: today, UTC).")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write customers_export.csv and orders_export.csv (Shopify admin layout) "
              "into this folder instead of loading the database.")
@click.option("--replace", is_flag=True,
              help="Replace store data that segflow did not generate (imported or written by "
                   "hand): all of it.")
@pass_ctx
def generate(ctx: Context, customers: int, seed: int, end_date: dt.datetime | None,
             csv_dir: Path | None, replace: bool) -> None:
    """Generate a synthetic coffee store: customers, orders and line items.

    Loading REPLACES the store data in the database (customers, orders, order lines are
    truncated first), in one transaction. It refuses when the store holds data that segflow
    did not generate (an import, rows written by hand) unless --replace.
    """
    from segflow.sources.synth import generate_store, write_csv

    day = end_date.date() if end_date else dt.datetime.now(dt.UTC).date()

    def run(progress):
        if csv_dir is not None:
            return write_csv(csv_dir, customers, seed, day, progress)
        from segflow.engines.postgres.db import open_database, redact, resolve_url
        from segflow.sources.store_origin import check_replaceable, mark_generated

        where = f"the database {redact(resolve_url(ctx.config))}"
        conn = open_database(ctx.config)
        try:
            with conn.transaction():
                if not replace:
                    check_replaceable(conn, command="seg generate", force_flag="--replace",
                                      where=where)
                click.echo(f"replacing the store data (customers, orders, order lines) in "
                           f"{where}", err=True)
                summary = generate_store(conn, customers, seed, day, progress)
                mark_generated(conn, "seg generate")
            return summary
        finally:
            conn.close()

    with progress("generating", customers) as tick:
        summary = run(tick)
    where = f" to {csv_dir}" if csv_dir is not None else ""
    click.echo(f"generated {summary.line()}{where}")


def register(cli: click.Group) -> None:
    cli.add_command(generate)
