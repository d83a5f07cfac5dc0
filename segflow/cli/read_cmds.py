"""ls, show, members, history, activity: reading the results."""

from __future__ import annotations

import json

import click

from segflow.cli.main import Context, pass_ctx
from segflow.cli.output import FORMAT, emit, fmt_value
from segflow.runtime import reports
from segflow.runtime.reports import METRICS

DATE = click.DateTime(formats=["%Y-%m-%d"])
GRID = ["id", "title", *METRICS]
HEADERS = {
    "customer_count": "customers",
    "repeat_customer_rate": "repeat rate",
    "lifetime_value": "LTV",
    "average_order_value": "AOV",
    "average_order_count": "orders/cust",
    "purchase_interval_days": "interval (d)",
}


@click.command(name="ls")
@click.option("--search", help="Only segments whose id or title contains TEXT.")
@click.option("--group", help="Only segments of this group.")
@click.option("--sort", default="id", show_default=True,
              help="id, title, or a metric (metrics sort largest first).")
@click.option("--date", "day", type=DATE, help="Show a past day's snapshot.")
@FORMAT
@pass_ctx
def ls(ctx: Context, search, group, sort, day, fmt) -> None:
    """Every segment with its six metrics (the segment grid)."""
    from segflow.runtime.reports import segment_grid

    with ctx.database() as conn:
        shown_day, rows = segment_grid(conn, day=day.date() if day else None, search=search,
                                       group=group, sort=sort)
    title = f"Segments on {shown_day}" if shown_day else "Segments (no daily run yet: `seg run`)"
    emit(rows, GRID, fmt, title=title, headers=HEADERS,
         meta={"day": str(shown_day) if shown_day else None} if fmt == "json" else None)


@click.command()
@click.argument("segment")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def show(ctx: Context, segment: str, fmt: str) -> None:
    """A segment's definition, current metrics and recent trend."""
    from segflow.runtime.reports import history, member_count, segment_info

    with ctx.database() as conn:
        info = segment_info(conn, segment)
        recent = history(conn, segment)[-14:]
        count = member_count(conn, segment)
    if fmt == "json":
        payload = {k: info[k] for k in ("id", "title", "description", "path", "tag", "list_path",
                                        "groups", "source")}
        payload.update(members=count, retired=info["retired_at"] is not None,
                       metrics=recent[-1] if recent else None, history=recent)
        click.echo(json.dumps(payload, indent=2, default=str))
        return
    click.echo(f"{info['id']}: {info['title']}" + ("  [retired]" if info["retired_at"] else ""))
    if info["description"]:
        click.echo(f"  {info['description']}")
    click.echo(f"  file: {info['path']}   groups: {', '.join(info['groups']) or '—'}   "
               f"tag: {info['tag'] or '—'}   members now: {count:,}")
    click.echo("")
    click.echo(info["source"].rstrip())
    click.echo("")
    if recent:
        last = recent[-1]
        click.echo(f"Metrics on {last['day']}:")
        for key in METRICS:
            click.echo(f"  {HEADERS[key]:<14} {fmt_value(last[key], key)}")
        click.echo("")
        click.echo("Customers, last days: " + "  ".join(
            f"{r['day'][5:]}:{r['customer_count']}" for r in recent))
    else:
        click.echo("No metrics yet: they are recorded by the daily run (`seg run`).")


@click.command()
@click.argument("segment")
@click.option("--limit", type=int, default=None, help="At most N customers.")
@FORMAT
@pass_ctx
def members(ctx: Context, segment: str, limit: int | None, fmt: str) -> None:
    """The customers currently in a segment."""
    from segflow.runtime.reports import members as members_of

    with ctx.database() as conn:
        rows = members_of(conn, segment, limit=limit)
    emit(rows, ["customer_id", "email", "first_name", "last_name", "province", "country"], fmt,
         title=f"{segment}: {len(rows):,} customers")


def _daily(ctx: Context, report, segment: str, since, fmt: str, columns: list[str],
           title: str) -> None:
    """The body `seg history` and `seg activity` share: one report's rows, day by day."""
    with ctx.database() as conn:
        rows = report(conn, segment, since=since.date() if since else None)
    emit(rows, columns, fmt, title=f"{segment}: {title}", headers=HEADERS)


@click.command(name="history")
@click.argument("segment")
@click.option("--since", type=DATE)
@FORMAT
@pass_ctx
def history_cmd(ctx: Context, segment: str, since, fmt: str) -> None:
    """A segment's daily metrics."""
    _daily(ctx, reports.history, segment, since, fmt, ["day", *METRICS, "backfilled"], "daily metrics")


@click.command(name="activity")
@click.argument("segment")
@click.option("--since", type=DATE)
@FORMAT
@pass_ctx
def activity_cmd(ctx: Context, segment: str, since, fmt: str) -> None:
    """Orders and revenue from a segment's members, day by day."""
    _daily(ctx, reports.activity, segment, since, fmt, ["day", "orders", "revenue", "backfilled"],
           "daily order activity")


def register(cli: click.Group) -> None:
    for command in (ls, show, members, history_cmd, activity_cmd):
        cli.add_command(command)
