"""seg sync, seg tags assign / remove / history: Shopify customer tags."""

from __future__ import annotations

import json
import time

import click

from segflow.cli.main import Context, pass_ctx
from segflow.cli.output import FORMAT, emit
from segflow.errors import SegflowError


class OperationsFailed(SegflowError):
    """Some tag operations failed for good in this sync: the command exits 1."""


def _open(ctx: Context):
    from segflow.engines.postgres.db import open_database

    return open_database(ctx.config)


def _progress():
    """A progress line on stderr at most every 2 s (sync can take a while at 10 ops/s)."""
    last = [0.0]

    def show(result) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            click.echo(f"  sent {result.sent:,} ({result.done:,} done, {result.failed:,} failed),"
                       f" {result.requests:,} requests, {result.throttled} throttled", err=True)
    return show


def send_outbox(ctx: Context, conn, *, batch_size: int | None = None,
                after: str | None = None) -> None:
    """Send the queued operations when Shopify is configured; otherwise say what waits.

    `after` names what already happened (a run, an apply) for the message when sending fails.
    """
    try:
        _send(ctx, conn, batch_size)
    except SegflowError as exc:
        if after is None or isinstance(exc, OperationsFailed):
            raise
        raise SegflowError(exc.diagnostics, hint=f"the {after} itself was recorded; its tag "
                           "operations stay queued and `seg sync` sends them") from None


def _send(ctx: Context, conn, batch_size: int | None) -> None:
    from segflow.connectors.shopify.config import is_configured, shopify_config
    from segflow.destinations.shopify import outbox
    from segflow.destinations.shopify.sync import open_client, sync

    if not is_configured(ctx.config):
        waiting = outbox.status_counts(conn)
        n = waiting["pending"] + waiting["sent"]
        if n:
            click.echo(f"{n:,} tag operations queued; add [shopify] to seg.toml and run "
                       "`seg sync` to send them.")
        return
    from segflow.connectors.shopify.redact import redact

    cfg = shopify_config(ctx.config)
    with open_client(cfg, warn=lambda m: click.echo(f"warning: {m}", err=True)) as client:
        result = sync(conn, client, batch_size=batch_size or cfg.batch_size,
                      progress=_progress(), bulk_threshold=cfg.bulk_threshold)
    click.echo(f"Tag sync: {result.done:,} done, {result.failed:,} failed, "
               f"{result.remaining:,} left ({result.requests:,} requests, {result.retries} "
               f"retried, {result.throttled} throttled, {result.seconds:.1f} s).")
    unlinked = outbox.unlinked_members(conn)
    if unlinked:
        click.echo(f"{unlinked:,} member{'s' if unlinked != 1 else ''} of tagged segments "
                   f"{'have' if unlinked != 1 else 'has'} no Shopify customer id (the import "
                   "gave none, so segflow derived one): nothing is sent for them.")
    for f in result.failures[:10]:
        click.echo(f"  failed: {f['op']} '{f['tag']}' on customer {f['customer_id']}: "
                   f"{redact(str(f['error']))}", err=True)
    if result.failed:
        raise OperationsFailed(
            f"{result.failed:,} tag operation{'s' if result.failed != 1 else ''} failed for good "
            "in this sync (Shopify refused them, or segflow knew it would): fix the cause, "
            "then `seg sync --retry-failed`")


@click.command(name="sync")
@click.option("--retry-failed", is_flag=True,
              help="Queue operations Shopify refused again (after fixing the cause).")
@click.option("--batch-size", type=click.IntRange(1, 100), default=None,
              help="Mutations per request (default: [shopify] batch_size, 25).")
@pass_ctx
def sync_cmd(ctx: Context, retry_failed: bool, batch_size: int | None) -> None:
    """Send queued tag operations to Shopify (resumes after a crash or an outage)."""
    from segflow.connectors.shopify.config import shopify_config
    from segflow.destinations.shopify import outbox

    shopify_config(ctx.config)  # fail early when not configured
    with _open(ctx) as conn:
        conn.autocommit = True
        outbox.enqueue_sync(conn, "sync")  # catch up if a run stopped before queuing
        if retry_failed:
            click.echo(f"Queued {outbox.retry_failed(conn):,} failed operations again.")
        send_outbox(ctx, conn, batch_size=batch_size)


@click.group(name="tags")
def tags_group() -> None:
    """One-off Shopify tag actions and their history."""


def _queued_line(result, verb: str) -> str:
    q = result.queued
    n = q.adds if verb == "add" else q.removes
    return (f"Action {result.action_id}: {result.targeted:,} customers targeted, {n:,} "
            f"operations queued" + (f", {q.cancelled:,} waiting ones cancelled" if q.cancelled
                                    else "")
            + (f", {result.unlinked:,} without a Shopify customer id not tagged"
               if result.unlinked else "") + ".")


@tags_group.command(name="assign")
@click.argument("segment")
@click.argument("tag")
@click.option("--no-sync", is_flag=True, help="Only queue the operations.")
@pass_ctx
def assign_cmd(ctx: Context, segment: str, tag: str, no_sync: bool) -> None:
    """Tag the current members of SEGMENT once (kept when they leave)."""
    from segflow.destinations.shopify.actions import assign

    with _open(ctx) as conn:
        conn.autocommit = True
        result = assign(conn, segment, tag)
        click.echo(_queued_line(result, "add"))
        if not no_sync:
            send_outbox(ctx, conn)


@tags_group.command(name="remove")
@click.argument("tag")
@click.option("--segment", help="Only from the current members of this segment.")
@click.option("--no-sync", is_flag=True, help="Only queue the operations.")
@pass_ctx
def remove_cmd(ctx: Context, tag: str, segment: str | None, no_sync: bool) -> None:
    """Remove TAG where segflow put it (a merchant's own tags are never touched)."""
    from segflow.destinations.shopify.actions import remove

    with _open(ctx) as conn:
        conn.autocommit = True
        result = remove(conn, tag, segment)
        click.echo(_queued_line(result, "remove"))
        if not no_sync:
            send_outbox(ctx, conn)


@tags_group.command(name="history")
@click.option("--limit", type=int, default=None)
@FORMAT
@pass_ctx
def history_cmd(ctx: Context, limit: int | None, fmt: str) -> None:
    """One-off tag actions: tag, segment, customers targeted, status, when."""
    from segflow.destinations.shopify.actions import HISTORY_COLUMNS, history

    with _open(ctx) as conn:
        rows = history(conn, limit)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    emit(rows, HISTORY_COLUMNS, fmt, title="Tag actions")


def register(cli: click.Group) -> None:
    cli.add_command(sync_cmd)
    cli.add_command(tags_group)
