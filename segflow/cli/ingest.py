"""`seg ingest`: load store data into the project's database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segflow.cli.main import Context, pass_ctx

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
BAR_MIN_BYTES = 5_000_000  # smaller files load too fast for a bar to help


@click.group()
def ingest() -> None:
    """Load store data (customers, orders, line items) into the database."""


@ingest.command("shopify-csv")
@click.option("--customers", type=FILE, help="customers_export.csv from Shopify's admin.")
@click.option("--orders", type=FILE, help="orders_export.csv from Shopify's admin.")
@click.option("--products", type=FILE,
              help="products_export.csv from Shopify's admin: line items get their product, "
                   "variant and product type from it (default: split from the line name).")
@click.option("--skip-bad-rows", is_flag=True,
              help="Load what is valid and report bad rows (default: a bad row loads nothing).")
@pass_ctx
def shopify_csv(ctx: Context, customers: Path | None, orders: Path | None,
                products: Path | None, skip_bad_rows: bool) -> None:
    """Import Shopify's CSV exports; re-importing the same files changes nothing."""
    from segflow.engines.postgres.db import open_database
    from segflow.sources.shopify_csv import import_shopify_csv

    if customers is None and orders is None:
        raise click.UsageError("give --customers, --orders or both")
    size = sum(p.stat().st_size for p in (customers, orders, products) if p is not None)
    conn = open_database(ctx.config)
    try:
        if sys.stdout.isatty() and size >= BAR_MIN_BYTES:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                tasks: dict[str, int] = {}

                def progress(label: str, done: int, total: int) -> None:
                    if label not in tasks:
                        tasks[label] = bar.add_task(f"reading {label}", total=total)
                    bar.update(tasks[label], completed=done)

                summary = import_shopify_csv(conn, customers, orders, products=products,
                                             skip_bad_rows=skip_bad_rows, progress=progress,
                                             timezone=ctx.config.store.timezone)
        else:
            summary = import_shopify_csv(conn, customers, orders, products=products,
                                         skip_bad_rows=skip_bad_rows,
                                         timezone=ctx.config.store.timezone)
    finally:
        conn.close()
    for diagnostic in summary.skipped:
        click.echo(f"skipped: {diagnostic.render()}", err=True)
    click.echo(summary.line())
    for note in summary.notes():
        click.echo(note)


@ingest.command("shopify-api")
@click.option("--full", is_flag=True,
              help="Load everything again (default: what changed since the last import).")
@pass_ctx
def shopify_api(ctx: Context, full: bool) -> None:
    """Import customers and orders from the Shopify Admin API ([shopify] in seg.toml)."""
    from segflow.connectors.shopify.config import shopify_config
    from segflow.destinations.shopify.sync import open_client
    from segflow.engines.postgres.db import open_database
    from segflow.sources.shopify_api.importer import import_from_api

    cfg = shopify_config(ctx.config)
    warn = lambda m: click.echo(f"warning: {m}", err=True)  # noqa: E731
    with open_database(ctx.config) as conn, open_client(cfg, warn=warn) as client:
        summary = import_from_api(conn, client, full=full)
    click.echo(summary.line())


def register(cli: click.Group) -> None:
    cli.add_command(ingest)
