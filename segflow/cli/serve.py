"""seg serve / seg report: the dashboard, live or as a static site."""

from __future__ import annotations

from pathlib import Path

import click

from segflow.cli.main import Context, pass_ctx

PLAN_HELP = ("A saved plan to show (`seg plan --out FILE`); default: plan.json in the project "
             "folder, when there is one.")


def _plan_path(ctx: Context, plan: Path | None) -> Path | None:
    if plan is not None:
        if not plan.is_file():
            from segflow.errors import SegflowError

            raise SegflowError(f"no plan file at {plan}")
        return plan
    default = ctx.root / "plan.json"
    return default if default.is_file() else None


def _shop(ctx: Context) -> str | None:
    """The shop's domain for the tag-sync section: the only part of [shopify] the pages show."""
    from segflow.connectors.shopify.config import is_configured, shopify_config
    from segflow.errors import SegflowError

    if not is_configured(ctx.config):
        return None
    try:
        return shopify_config(ctx.config).shop
    except SegflowError:
        return None  # a broken section is `seg sync`'s to report, not the dashboard's


def _url(ctx: Context) -> str:
    """The database URL, with the schema brought up to date once (as every command does)."""
    from segflow.engines.postgres.db import open_database, resolve_url

    open_database(ctx.config).close()
    return resolve_url(ctx.config)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback shares customer data.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--plan", "plan", type=click.Path(dir_okay=False, path_type=Path), help=PLAN_HELP)
@pass_ctx
def serve(ctx: Context, host: str, port: int, plan: Path | None) -> None:
    """A local, read-only web dashboard: the segment grid, each segment and group, the plan."""
    from segflow.web.app import Dashboard, ReadOnlyDatabase
    from segflow.web.server import is_loopback, make
    from segflow.web.view import View

    plan_path = _plan_path(ctx, plan)
    database = ReadOnlyDatabase(_url(ctx))
    try:
        server = make(Dashboard(database, View(plan_path=plan_path, shop=_shop(ctx),
                                                   timezone=ctx.config.store.timezone)), host, port)
    except OSError as exc:
        from segflow.errors import SegflowError

        raise SegflowError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if not is_loopback(host):
        click.echo(f"warning: listening on {host}: anyone who can reach it sees customer "
                   "emails and names", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"segflow dashboard on http://{shown}:{server.server_port}/ (read-only; "
               "Ctrl-C stops it)", err=True)
    if plan_path is not None:
        click.echo(f"  showing the saved plan {plan_path}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()
        database.close()


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the site into (replaced if it holds an earlier report).")
@click.option("--plan", "plan", type=click.Path(dir_okay=False, path_type=Path), help=PLAN_HELP)
@click.option("--members/--no-members", default=True, show_default=True,
              help="Include customer details (emails, names) in the member lists.")
@click.option("--features/--no-features", default=True, show_default=True,
              help="Compute each segment's features (one pass over every order of the "
                   "store, for all segments).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress on stderr (there is none when stderr is not a terminal).")
@pass_ctx
def report(ctx: Context, out: Path, plan: Path | None, members: bool, features: bool,
           quiet: bool) -> None:
    """The dashboard's pages as a static site (open index.html, or publish the folder)."""
    import sys
    from contextlib import nullcontext

    from segflow.cli.progress import progress
    from segflow.web.app import ReadOnlyDatabase
    from segflow.web.static_site import write_report
    from segflow.web.view import View

    view = View(static=True, members=members, features=features, shop=_shop(ctx),
                plan_path=_plan_path(ctx, plan), timezone=ctx.config.store.timezone)
    database = ReadOnlyDatabase(_url(ctx))
    shown = not quiet and sys.stderr.isatty()
    try:
        with database.transaction() as conn, \
                (progress("writing pages", 0) if shown else nullcontext(None)) as tick:
            result = write_report(conn, out, view, tick)  # one snapshot for every page
    finally:
        database.close()
    click.echo(f"Wrote {result.pages} pages to {result.path}; open {result.path / 'index.html'}")


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(report)
