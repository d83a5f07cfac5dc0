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
        text = as_json(the_plan)  # not signed: an offline plan cannot be applied
    elif base:
        raise click.UsageError("--base only applies with --offline (online plans compare with "
                               "the database)")
    else:
        from segflow.lifecycle.plan import plan_for
        from segflow.lifecycle.plan_file import plan_key, signed_json
        from segflow.lifecycle.value_check import value_warnings

        with ctx.database() as conn:
            the_plan = plan_for(conn, project, tz, today_in(tz))
            # the JSON that `seg apply PLAN` accepts: signed (lifecycle/plan_file.py)
            text = signed_json(the_plan, plan_key(conn)) if out or fmt == "json" else ""
            warnings = value_warnings(conn, project)  # values that match nothing (issue 15.21)
        for warning in warnings:
            _say(warning.render())
    if out:
        out.write_text(text, encoding="utf-8")
    if fmt == "json":
        click.echo(text)
    elif fmt == "markdown":
        click.echo(as_markdown(the_plan))
    else:
        click.echo(as_text(the_plan, colour=sys.stdout.isatty()))
        if out:
            click.echo(f"Saved the plan to {out}; apply it with `seg apply {out}`.")
    if detailed_exitcode and the_plan.has_changes:
        raise SystemExit(EXIT_CHANGES)


def _offline_plan(ctx: Context, project, base: str | None):
    from segflow.lifecycle.git_base import base_project
    from segflow.lifecycle.plan import offline_plan

    tz = ctx.config.store.timezone
    segments = Path(ctx.config.project.segments)
    with base_project(ctx.root, segments, base) as found:
        return offline_plan(project, found.project, found.label, tz, today_in(tz))


@click.command()
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (CI).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=None,
              help="Seconds to wait for another apply / run before failing; 0: do not wait "
                   "(default: wait as long as it takes).")
@pass_ctx
def apply(ctx: Context, plan_file: Path | None, auto_approve: bool,
          lock_timeout: float | None) -> None:
    """Apply a saved plan, or plan now and apply after confirmation."""
    from segflow.lifecycle import plan_file as files
    from segflow.lifecycle.apply import apply_plan
    from segflow.lifecycle.plan import plan_for

    tz = ctx.config.store.timezone
    body = None
    if plan_file:
        body = files.parse_plan_json(_read_text(plan_file), str(plan_file))
        if body.get("offline"):
            raise SegflowError(f"{plan_file} is an offline plan (made without the database): it "
                               "cannot be applied; run `seg apply` to plan and apply")
    with ctx.database(writes=True) as conn:
        if body is not None:  # exactly what `seg plan` wrote, or refused before anything
            the_plan = files.verify(body, files.plan_key(conn), str(plan_file), tz, ctx.root)
        else:
            the_plan = plan_for(conn, load(ctx), tz, today_in(tz))
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
@click.option("--force-future", is_flag=True,
              help="Run for a day after today in the store's time zone (refused without it).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=None,
              help="Seconds to wait for another apply / run before failing; 0: do not wait "
                   "(default: wait as long as it takes).")
@pass_ctx
def run(ctx: Context, day: dt.datetime | None, force_future: bool,
        lock_timeout: float | None) -> None:
    """The daily job: evaluate every applied segment, record events, metrics and activity."""
    from segflow.lifecycle.run import run_day

    tz = ctx.config.store.timezone
    the_day = day.date() if day else today_in(tz)
    with ctx.database(writes=True) as conn:
        result = run_day(conn, the_day, tz, ctx.root, say=_say, lock_timeout=lock_timeout,
                         allow_future=force_future)
        if not result.wrote:
            click.echo(f"Run for {result.day}: nothing new ({result.segments} segments, "
                       f"{result.seconds:.1f} s).")
        else:
            click.echo(f"Run for {result.day}: {result.segments} segments, {result.entered} "
                       f"entered, {result.left} left, {result.snapshots} snapshots "
                       f"({result.seconds:.1f} s).")
        send_outbox(ctx, conn, after="run")  # the run ends with the tag sync


@click.command()
@click.option("--to", "to_day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The last day to keep: every day the daily run recorded after it is removed.")
@click.option("--auto-approve", is_flag=True, help="Rewind without asking (CI).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=None,
              help="Seconds to wait for another apply / run before failing; 0: do not wait.")
@pass_ctx
def rewind(ctx: Context, to_day: dt.datetime, auto_approve: bool,
           lock_timeout: float | None) -> None:
    """Go back from a wrong day: remove every recorded day after --to, as if never run.

    Deletes those days' events, metrics and activity, restores the memberships of --to from
    the events, and cancels their unsent tag operations (sent ones get compensating ones), in
    one transaction.
    """
    from segflow.lifecycle.rewind import rewind as rewind_to

    day = to_day.date()
    with ctx.database(writes=True) as conn:
        preview = rewind_to(conn, day, dry_run=True, lock_timeout=lock_timeout, say=_say)
        shown = ", ".join(str(d) for d in preview.days[:5]) + (
            f" and {len(preview.days) - 5} more" if len(preview.days) > 5 else "")
        click.echo(f"Rewind to {day}: removes the recorded days {shown or '(none)'} "
                   f"({preview.events:,} membership events, {preview.metrics:,} metric rows, "
                   f"{preview.activity:,} activity rows); the last run day becomes "
                   f"{preview.last_run_day or 'none (no run kept)'}.")
        if not auto_approve:
            if not sys.stdin.isatty():
                raise SegflowError("refusing to rewind without confirmation: not a terminal "
                                   "(use --auto-approve)")
            if not click.confirm("Remove these days?", default=False):
                click.echo("Nothing removed.")
                raise SystemExit(EXIT_ERROR)
        done = rewind_to(conn, day, lock_timeout=lock_timeout, say=_say)
        assert done.tags is not None
        click.echo(f"Rewound to {day}: {len(done.days)} days removed; tag operations: "
                   f"{done.tags.cancelled:,} cancelled, {done.tags.adds:,} adds and "
                   f"{done.tags.removes:,} removes queued.")
        send_outbox(ctx, conn, after="rewind")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SegflowError(f"{path}: cannot read the plan: {exc}") from None


def register(cli: click.Group) -> None:
    for command in (plan, apply, run, rewind):
        cli.add_command(command)
