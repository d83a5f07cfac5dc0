"""`seg sync`: send the outbox to Shopify, batch by batch, recording every result.

One sync at a time (a session advisory lock). Each batch is claimed (marked in flight and
committed) before its request goes out and its results are committed as soon as they come
back, so stopping at any point loses nothing: the next sync re-sends what was in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from segflow.connectors.shopify.client import AdminClient, ShopifyError, TagCall
from segflow.connectors.shopify.config import ShopifyConfig
from segflow.destinations.shopify import outbox
from segflow.errors import SegflowError

SYNC_LOCK = 7_415_003  # advisory lock: one `seg sync` at a time
Progress = Callable[["SyncResult"], None]


@dataclass
class SyncResult:
    done: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    seconds: float = 0.0
    remaining: int = 0
    failures: list[dict] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.done + self.failed


def group_calls(ops: list[outbox.Operation]) -> list[tuple[TagCall, list[int]]]:
    """One mutation per customer and direction, carrying all of its tags, in first-seen order."""
    grouped: dict[tuple[int, str], list[outbox.Operation]] = {}
    for op in ops:
        grouped.setdefault((op.customer_id, op.op), []).append(op)
    return [(TagCall(cid, kind, tuple(o.tag for o in group)), [o.op_id for o in group])
            for (cid, kind), group in grouped.items()]


def open_client(cfg: ShopifyConfig, **kw) -> AdminClient:
    """A client for the configured shop: a static token, or the client-credentials grant."""
    from segflow.connectors.shopify.auth import ClientCredentials

    url = cfg.url()  # refuses an endpoint that is not allowed before any secret is read
    auth = (ClientCredentials(cfg.token_url(), cfg.client_id or "", cfg.client_secret())
            if cfg.uses_client_credentials() else cfg.token())
    return AdminClient(url, auth, timeout=cfg.timeout, max_attempts=cfg.max_attempts, **kw)


def sync(conn: psycopg.Connection, client: AdminClient, *, batch_size: int = 25,
         progress: Progress | None = None, limit: int | None = None,
         bulk_threshold: int = 0, bulk_max: int = 100_000,
         poll_seconds: float = 2.0) -> SyncResult:
    """Send pending (and previously in-flight) operations until the outbox is empty.

    With `bulk_threshold`, as long as at least that many operations wait they go (up to
    `bulk_max` at a time) through bulk mutations; the rest through paced requests.
    """
    if not conn.autocommit:  # every claim and every result must be committed on its own
        conn.commit()
        conn.autocommit = True
    got = conn.execute("SELECT pg_try_advisory_lock(%s)", (SYNC_LOCK,)).fetchone()
    if not got or not got[0]:
        raise SegflowError("another `seg sync` is sending tag operations; try again when it ends")
    result = SyncResult()
    started = time.perf_counter()
    try:
        while bulk_threshold and limit is None and _waiting(conn) >= bulk_threshold:
            ops, failed_here = outbox.claim(conn, bulk_max)
            result.failed += failed_here
            _send_bulk(conn, client, ops, result, poll_seconds)
            if progress:
                progress(result)
        while limit is None or result.sent < limit:
            size = batch_size if limit is None else min(batch_size, limit - result.sent)
            ops, failed_here = outbox.claim(conn, size)
            result.failed += failed_here
            if not ops and not failed_here:
                break
            if not ops:
                continue
            _send(conn, client, ops, result)
            result.requests, result.retries = client.requests, client.retries
            result.throttled = client.throttled
            if progress:
                progress(result)
    finally:
        result.seconds = time.perf_counter() - started
        counts = outbox.status_counts(conn)
        result.remaining = counts["pending"] + counts["sent"]
        if result.failed:
            result.failures = outbox.recent_failures(conn)
        conn.execute("SELECT pg_advisory_unlock(%s)", (SYNC_LOCK,))
    return result


def _send(conn: psycopg.Connection, client: AdminClient, ops: list[outbox.Operation],
          result: SyncResult) -> None:
    calls = group_calls(ops)
    try:
        answers = client.tag_calls([call for call, _ in calls])
    except ShopifyError as exc:
        with conn.transaction():
            outbox.record_error(conn, [o.op_id for o in ops], exc.message)
        raise
    done: list[int] = []
    failed: list[tuple[int, str]] = []
    for (_, op_ids), answer in zip(calls, answers, strict=True):
        if answer.error is None:
            done += op_ids
        else:
            failed += [(op_id, answer.error) for op_id in op_ids]
    with conn.transaction():
        outbox.record_done(conn, done)
        outbox.record_failed(conn, failed)
    result.done += len(done)
    result.failed += len(failed)


def _waiting(conn: psycopg.Connection) -> int:
    counts = outbox.status_counts(conn)
    return counts["pending"] + counts["sent"]


def _send_bulk(conn: psycopg.Connection, client: AdminClient, ops: list[outbox.Operation],
               result: SyncResult, poll_seconds: float) -> None:
    """One bulk mutation per direction; lines it did not run stay in flight (sent again)."""
    from segflow.connectors.shopify.bulk import run_bulk

    calls = group_calls(ops)
    for kind in ("add", "remove"):
        part = [(call, ids) for call, ids in calls if call.op == kind]
        if not part:
            continue
        try:
            answers = run_bulk(client, [call for call, _ in part], poll_seconds=poll_seconds)
        except ShopifyError as exc:
            with conn.transaction():
                outbox.record_error(conn, [i for _, ids in part for i in ids], exc.message)
            raise
        done, failed, not_run = [], [], []
        for (_, op_ids), answer in zip(part, answers, strict=True):
            if answer is None:
                not_run += op_ids
            elif answer.error is None:
                done += op_ids
            else:
                failed += [(op_id, answer.error) for op_id in op_ids]
        with conn.transaction():
            outbox.record_done(conn, done)
            outbox.record_failed(conn, failed)
            outbox.record_error(conn, not_run, "not run by the bulk operation")
        result.done += len(done)
        result.failed += len(failed)
        if not_run:
            raise ShopifyError(f"the bulk operation ended before {len(not_run):,} operations; "
                               "they stay queued: run `seg sync` again")
