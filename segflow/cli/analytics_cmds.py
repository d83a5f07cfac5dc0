"""revenue, features, journey, overlap: segment analytics from the membership history."""

from __future__ import annotations

import json

import click

from segflow.cli.main import Context, pass_ctx
from segflow.cli.output import FORMAT, emit
from segflow.cli.read_cmds import DATE


def _open(ctx: Context):
    from segflow.engines.postgres.db import open_database

    return open_database(ctx.config)


def _day(value):
    return value.date() if value is not None else None


def _pct(share: float | None) -> str | None:
    return None if share is None else f"{share * 100:.1f}%"


def _out(report, rows: list[dict], columns: list[str], fmt: str, *, title: str,
         headers: dict[str, str] | None = None, notes: list[str] | None = None) -> None:
    """JSON: the report's own stable shape; table / CSV: its rows; the title above the table
    and notes below it for people."""
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    if fmt == "table":
        click.echo(title)
    emit(rows, columns, fmt, headers=headers)
    if fmt == "table":
        for note in notes or []:
            click.echo(note)


@click.command()
@click.argument("segment")
@click.option("--from", "start", type=DATE, required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, required=True,
              help="Last day, included; at most one year after --from.")
@click.option("--cohort", type=click.Choice(["daily", "start"]), default="daily",
              show_default=True,
              help="daily: an order counts if its customer was a member that day; start: follow "
                   "the members of the first day.")
@FORMAT
@pass_ctx
def revenue(ctx: Context, segment: str, start, end, cohort: str, fmt: str) -> None:
    """Revenue and orders from a segment's members over a period, day by day."""
    from segflow.analytics.revenue import revenue_report

    with _open(ctx) as conn:
        report = revenue_report(conn, segment, _day(start), _day(end), cohort=cohort,
                                timezone=ctx.config.store.timezone)
    rows = [d.as_dict() for d in report.days]
    who = ("members on each order's day" if cohort == "daily"
           else f"the {report.cohort_size:,} members of {report.start}")
    notes = [f"Total: {report.orders:,} orders, {report.revenue:,.2f} revenue, "
             f"{report.buyers:,} buyers ({who})."]
    notes.extend(report.notes())
    _out(report, rows, ["day", "history", "members", "orders", "revenue"], fmt,
         title=f"{segment}: revenue from {report.start} to {report.end}, {cohort} cohort",
         notes=notes)


@click.command()
@click.argument("segment")
@click.option("--top", type=int, default=10, show_default=True, help="Values per list.")
@click.option("--date", "day", type=DATE, help="Members and orders as of this day "
                                                "(default: the last recorded day).")
@FORMAT
@pass_ctx
def features(ctx: Context, segment: str, top: int, day, fmt: str) -> None:
    """What a segment's members buy, where their orders come from, what they buy first."""
    from segflow.analytics.features import features_report

    with _open(ctx) as conn:
        report = features_report(conn, segment, day=_day(day), top=top,
                                 timezone=ctx.config.store.timezone)
    columns = ["value", "members", "member_share", "orders", "customers", "customer_share",
               "lift"]
    if fmt == "csv":
        rows = [{"list": name, **f.as_dict()} for name, fs in report.lists.items() for f in fs]
        emit(rows, ["list", *columns], fmt)
        return
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    click.echo(f"{segment} on {report.day}: {report.members:,} members, "
               f"{report.customers:,} customers in the store")
    for name, fs in report.lists.items():
        rows = [{**f.as_dict(), "member_share": _pct(f.member_share),
                 "customer_share": _pct(f.customer_share)} for f in fs]
        emit(rows, columns, fmt, title=_LIST_TITLES[name], headers=_FEATURE_HEADERS)
    click.echo("share: of members / of all customers with such a counted order; "
               "lift: member share / customer share")


_LIST_TITLES = {
    "products": "Most purchased products",
    "first_products": "Most popular first-purchase products",
    "channels": "Order channels",
    "utm_sources": "UTM sources",
    "utm_campaigns": "UTM campaigns",
}
_FEATURE_HEADERS = {"member_share": "% members", "customer_share": "% customers"}


@click.command()
@click.argument("group")
@click.option("--from", "start", type=DATE, required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, required=True, help="Second day.")
@FORMAT
@pass_ctx
def journey(ctx: Context, group: str, start, end, fmt: str) -> None:
    """How customers moved between the segments of a group from one day to another."""
    from segflow.analytics.journey import journey_report, state_label

    with _open(ctx) as conn:
        report = journey_report(conn, group, _day(start), _day(end))
    if fmt == "csv":
        emit([{"from": state_label(t.from_state), "to": state_label(t.to_state),
               "customers": t.customers} for t in report.transitions],
             ["from", "to", "customers"], fmt)
        return
    states = report.states()
    before, after = report.totals()
    note = (f"{report.customers:,} customers were in the group on either day. A customer in "
            "several of its segments on a day is counted once, in the combined state (a + b).")
    if len(states) > MATRIX_STATES:  # too wide for a matrix: one line per transition
        rows = [{"from": state_label(t.from_state), "to": state_label(t.to_state),
                 "customers": t.customers, "share_of_from": _pct(t.customers / before[t.from_state])}
                for t in report.transitions]
        _out(report, rows, ["from", "to", "customers", "share_of_from"], fmt,
             title=f"Group {group}: from {report.start} to {report.end}, {len(states)} states",
             headers={"share_of_from": "% of from"}, notes=[note])
        return
    cells = {(t.from_state, t.to_state): t.customers for t in report.transitions}
    labels = [state_label(s) for s in states]
    rows = [{"from": state_label(a), **{state_label(b): cells.get((a, b), 0) for b in states},
             "total": before[a]} for a in states]
    rows.append({"from": "total", **{state_label(b): after[b] for b in states},
                 "total": report.customers})
    _out(report, rows, ["from", *labels, "total"], fmt,
         title=f"Group {group}: from {report.start} (rows) to {report.end} (columns)",
         headers={label: label for label in labels}, notes=[note])


MATRIX_STATES = 6  # more states than this are listed as transitions rather than a matrix


@click.command()
@click.argument("segments", nargs=-1, required=True)
@click.option("--date", "day", type=DATE, help="Members as of this day "
                                                "(default: the last recorded day).")
@FORMAT
@pass_ctx
def overlap(ctx: Context, segments: tuple[str, ...], day, fmt: str) -> None:
    """Members shared by segments, pair by pair, with the Jaccard index."""
    from segflow.analytics.overlap import overlap_report

    with _open(ctx) as conn:
        report = overlap_report(conn, list(segments), day=_day(day))
    rows = [p.as_dict() for p in report.pairs]
    if fmt == "table":
        rows = [r | {"jaccard": None if r["jaccard"] is None else f"{r['jaccard']:.3f}"}
                for r in rows]
    sizes = ", ".join(f"{s} {n:,}" for s, n in report.members.items())
    _out(report, rows, ["a", "b", "a_members", "b_members", "both", "union", "jaccard"], fmt,
         title=f"Overlap on {report.day} (members: {sizes})",
         notes=["jaccard: members of both / members of either"])


def register(cli: click.Group) -> None:
    for command in (revenue, features, journey, overlap):
        cli.add_command(command)
