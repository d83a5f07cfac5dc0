"""ls, show, members, history, activity: reading the results."""

from __future__ import annotations

import json

import click

from segflow.analytics import reports
from segflow.analytics.reports import METRICS
from segflow.cli.main import Context, pass_ctx
from segflow.cli.output import FORMAT, emit, fmt_value, plural

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
    from segflow.analytics.reports import require_snapshot, segment_grid

    with ctx.database() as conn:
        if day is not None:
            require_snapshot(conn, day.date())
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
    from segflow.analytics.reports import history, member_count, segment_info

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


PAGE = 50  # `seg members` shows this many in a table unless told otherwise


@click.command()
@click.argument("segment")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help=f"At most N customers (a table shows {PAGE} unless --all).")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip the first M customers (by customer id).")
@click.option("--all", "everyone", is_flag=True, help="Every member (JSON and CSV always are).")
@click.option("--date", "day", type=DATE,
              help="Members at the end of a recorded day (from the recorded events).")
@FORMAT
@pass_ctx
def members(ctx: Context, segment: str, limit: int | None, offset: int, everyone: bool, day,
            fmt: str) -> None:
    """The customers in a segment, by customer id: now, or on a recorded day (--date).

    A table shows the first 50; JSON and CSV, meant for programs, every member unless --limit.
    """
    from segflow.analytics.reports import MEMBER_COLUMNS, member_count
    from segflow.analytics.reports import members as members_of

    if everyone and limit is not None:
        raise click.UsageError("--all and --limit exclude each other")
    if limit is None and not everyone and fmt == "table":
        limit = PAGE
    on = day.date() if day else None
    with ctx.database() as conn:
        total = member_count(conn, segment, on)
        rows = members_of(conn, segment, limit=limit, offset=offset, day=on)
    when = f" on {on}" if on else ""
    emit(rows, list(MEMBER_COLUMNS), fmt,
         title=f"{segment}{when}: {plural(total, 'customer')}")
    if fmt == "table" and len(rows) < total:
        first = offset + 1 if rows else offset
        shown = f"{first:,}–{offset + len(rows):,}" if rows else "none"
        click.echo(f"showing {shown} of {total:,}; --all for every member, or --limit N "
                   "--offset M")


@click.command()
@click.argument("segment")
@click.option("--date", "day", type=DATE, help="The day (default: the last recorded).")
@FORMAT
@pass_ctx
def changes(ctx: Context, segment: str, day, fmt: str) -> None:
    """Who entered or left a segment on a day, from the recorded membership events."""
    from segflow.analytics.reports import MEMBER_COLUMNS
    from segflow.analytics.reports import changes as changes_of

    with ctx.database() as conn:
        shown_day, rows = changes_of(conn, segment, day.date() if day else None)
    entered = sum(r["change"] == "entered" for r in rows)
    title = (f"{segment} on {shown_day}: {entered:,} entered, {len(rows) - entered:,} left")
    if fmt == "json":
        emit(rows, ["change", *MEMBER_COLUMNS], fmt,
             meta={"segment": segment, "day": str(shown_day), "entered": entered,
                   "left": len(rows) - entered})
        return
    if not rows and fmt == "table":
        click.echo(f"{title}: no one entered or left that day")
        return
    emit(rows, ["change", *MEMBER_COLUMNS], fmt, title=title)


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
    for command in (ls, show, members, changes, history_cmd, activity_cmd):
        cli.add_command(command)
