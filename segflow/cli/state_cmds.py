"""plan, apply, run: changing the applied state."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from segflow.cli.lang import load, today_in
from segflow.cli.main import EXIT_ERROR, Context, pass_ctx
from segflow.cli.render_plan import as_json, as_markdown, as_text
from segflow.cli.tags import send_outbox
from segflow.errors import SegflowError

EXIT_CHANGES = 2


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the plan (JSON) for `seg apply PLAN`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@click.option("--offline", is_flag=True,
              help="No database: compare the segment files with a git base and show definition "
                   "changes only (no member counts).")
@click.option("--base", metavar="REF|DIR",
              help="With --offline: the git revision (or a folder with another checkout) to "
                   "compare with (default: the merge base of HEAD with the default branch).")
@pass_ctx
def plan(ctx: Context, fmt: str, out: Path | None, detailed_exitcode: bool, offline: bool,
         base: str | None) -> None:
    """Show what `seg apply` would change: segments and groups, members, tag operations."""
    project = load(ctx)
    tz = ctx.config.store.timezone
    if offline:
        if out:
            raise click.UsageError("--out saves a plan for `seg apply`; an offline plan cannot be "
                                   "applied (print it with --format json instead)")
        the_plan = _offline_plan(ctx, project, base)
    elif base:
        raise click.UsageError("--base only applies with --offline (online plans compare with "
                               "the database)")
    else:
        from segflow.runtime.plan import plan_for
        from segflow.runtime.value_check import value_warnings

        with ctx.database() as conn:
            the_plan = plan_for(conn, project, tz, today_in(tz))
            warnings = value_warnings(conn, project)  # values that match nothing (issue 15.21)
        for warning in warnings:
            _say(warning.render())
    if out:
        out.write_text(as_json(the_plan), encoding="utf-8")
    if fmt == "json":
        click.echo(as_json(the_plan))
    elif fmt == "markdown":
        click.echo(as_markdown(the_plan))
    else:
        click.echo(as_text(the_plan, colour=sys.stdout.isatty()))
        if out:
            click.echo(f"Saved the plan to {out}; apply it with `seg apply {out}`.")
    if detailed_exitcode and the_plan.has_changes:
        raise SystemExit(EXIT_CHANGES)


def _offline_plan(ctx: Context, project, base: str | None):
    from segflow.runtime.git_base import base_project
    from segflow.runtime.plan import offline_plan

    tz = ctx.config.store.timezone
    segments = Path(ctx.config.project.segments)
    with base_project(ctx.root, segments, base) as found:
        return offline_plan(project, found.project, found.label, tz, today_in(tz))


@click.command()
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI).")
@click.option("--lock-timeout", type=float, default=None,
              help="Seconds to wait for another apply / run before failing (default: wait).")
@pass_ctx
def apply(ctx: Context, plan_file: Path | None, auto_approve: bool,
          lock_timeout: float | None) -> None:
    """Apply a saved plan, or plan now and apply after confirmation."""
    from segflow.runtime.apply import apply_plan
    from segflow.runtime.plan import plan_for
    from segflow.runtime.plan_model import Plan

    tz = ctx.config.store.timezone
    saved = None
    if plan_file:
        try:
            saved = Plan.model_validate_json(plan_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SegflowError(f"{plan_file}: not a segflow plan: "
                               f"{str(exc).splitlines()[0]}") from None
        if saved.offline:
            raise SegflowError(f"{plan_file} is an offline plan (made without the database): it "
                               "cannot be applied; run `seg apply` to plan and apply")
    with ctx.database(writes=True) as conn:
        the_plan = saved or plan_for(conn, load(ctx), tz, today_in(tz))
        click.echo(as_text(the_plan, colour=sys.stdout.isatty()))
        if not the_plan.has_changes:
            return
        if not auto_approve:
            if not sys.stdin.isatty():
                raise SegflowError("refusing to apply without confirmation: not a terminal "
                                   "(use --auto-approve)")
            if not click.confirm("Apply these changes?", default=False):
                click.echo("Nothing applied.")
                raise SystemExit(EXIT_ERROR)
        result = apply_plan(conn, the_plan, ctx.root, tz, lock_timeout=lock_timeout, say=_say)
        click.echo(f"Applied: {result.created} created, {result.updated} changed, "
                   f"{result.retired} retired; {result.entered} memberships entered, "
                   f"{result.left} left.")
        send_outbox(ctx, conn, after="apply")  # the tag operations apply queued
    for load_ in result.lists:
        click.echo(f"  list {load_.segment_id}: {load_.members} members")
        if load_.unknown:
            shown = ", ".join(load_.unknown[:10]) + (" ..." if len(load_.unknown) > 10 else "")
            click.echo(f"  warning: {len(load_.unknown)} unknown customers in the list: {shown}",
                       err=True)


@click.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day to evaluate (default: today in the store's time zone).")
@click.option("--lock-timeout", type=float, default=None)
@pass_ctx
def run(ctx: Context, day: dt.datetime | None, lock_timeout: float | None) -> None:
    """The daily job: evaluate every applied segment, record events, metrics and activity."""
    from segflow.runtime.run import run_day

    tz = ctx.config.store.timezone
    the_day = day.date() if day else today_in(tz)
    with ctx.database(writes=True) as conn:
        result = run_day(conn, the_day, tz, ctx.root, say=_say, lock_timeout=lock_timeout)
        if not result.wrote:
            click.echo(f"Run for {result.day}: nothing new ({result.segments} segments, "
                       f"{result.seconds:.1f} s).")
        else:
            click.echo(f"Run for {result.day}: {result.segments} segments, {result.entered} "
                       f"entered, {result.left} left, {result.snapshots} snapshots "
                       f"({result.seconds:.1f} s).")
        send_outbox(ctx, conn, after="run")  # the run ends with the tag sync


def register(cli: click.Group) -> None:
    for command in (plan, apply, run):
        cli.add_command(command)
