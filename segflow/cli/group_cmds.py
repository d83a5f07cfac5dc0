"""seg group ls / show: groups organise segments (many-to-many); retiring one retires none."""

from __future__ import annotations

import click

from segflow.cli.main import Context, pass_ctx
from segflow.cli.output import FORMAT, emit


@click.group(name="group")
def group() -> None:
    """Segment groups (as applied)."""


@group.command(name="ls")
@FORMAT
@pass_ctx
def group_ls(ctx: Context, fmt: str) -> None:
    """Every applied group with its number of segments."""
    from segflow.analytics.reports import groups
    from segflow.engines.postgres.db import open_database

    with open_database(ctx.config) as conn:
        rows = [{k: g[k] for k in ("id", "title", "segments")} for g in groups(conn)]
    emit(rows, ["id", "title", "segments"], fmt, title="Groups")


@group.command(name="show")
@click.argument("group_id")
@FORMAT
@pass_ctx
def group_show(ctx: Context, group_id: str, fmt: str) -> None:
    """A group's segments with their six metrics."""
    from segflow.analytics.reports import segment_grid
    from segflow.cli.read_cmds import GRID, HEADERS
    from segflow.engines.postgres.db import open_database

    with open_database(ctx.config) as conn:
        day, rows = segment_grid(conn, group=group_id)
    emit(rows, GRID, fmt, title=f"Group {group_id} on {day}", headers=HEADERS)


def register(cli: click.Group) -> None:
    cli.add_command(group)
