"""The tag outbox: operations queued in the database, sent by `seg sync`, never lost.

Queuing (`enqueue_sync`) writes the ledger of our tags (`applied_tags`) and the operations in
one transaction. Sending claims a batch (pending -> sent, committed before the request goes
out), then records each result (done / failed). A crash between the two leaves `sent` rows,
which the next sync claims again: re-sending tagsAdd / tagsRemove is harmless.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from segflow.destinations.base import Queued
from segflow.destinations.shopify.tagdiff import DESIRED_RECORDED, diff_sql

QUEUE_LOCK = 7_415_004  # advisory lock: one writer of the tag ledger and outbox at a time
MAX_TAG_LENGTH = 255  # characters per tag (docs/shopify.md)
MAX_TAGS = 250        # tags per customer (docs/shopify.md)


def enqueue_sync(conn: psycopg.Connection, reason: str) -> Queued:
    """Queue the operations that bring Shopify's tags to the recorded memberships.

    Apply and the daily run call it inside their own transaction (this one is then a
    savepoint), so memberships and their tag operations are committed together or not at all.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_LOCK,))  # diff what is current
        conn.execute("DROP TABLE IF EXISTS _tag_desired, _tag_ops")
        conn.execute(f"CREATE TEMP TABLE _tag_desired ON COMMIT DROP AS {DESIRED_RECORDED}")
        conn.execute("CREATE INDEX ON _tag_desired (customer_id, lower(tag))")
        conn.execute(
            f"CREATE TEMP TABLE _tag_ops ON COMMIT DROP AS {diff_sql('_tag_desired')}")
        return write_ops(conn, reason, action_id=None)


def write_ops(conn: psycopg.Connection, reason: str, action_id: int | None) -> Queued:
    """Turn `_tag_ops(customer_id, tag, op, segment_id)` into ledger rows and operations."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_LOCK,))
    params = {"reason": reason, "action": action_id}
    # a pending operation the other way round was never sent: cancel it instead of queuing
    cancelled = conn.execute(
        """
        UPDATE segflow.tag_outbox AS o
        SET status = 'cancelled', updated_at = now(),
            last_error = 'overtaken before it was sent (' || %(reason)s || ')'
        FROM _tag_ops AS d
        WHERE o.customer_id = d.customer_id AND lower(o.tag) = lower(d.tag)
          AND o.status = 'pending'
          AND o.op <> d.op
        RETURNING o.customer_id, o.tag
        """, params).fetchall()
    if cancelled:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _tag_cancelled (customer_id bigint, tag text)"
                      " ON COMMIT DROP")
        conn.execute("TRUNCATE _tag_cancelled")
        with conn.cursor().copy("COPY _tag_cancelled FROM STDIN") as copy:
            for row in cancelled:
                copy.write_row(row)
    skip = ("AND NOT EXISTS (SELECT 1 FROM _tag_cancelled AS x"
            " WHERE x.customer_id = d.customer_id AND lower(x.tag) = lower(d.tag))") if cancelled else ""
    conn.execute(
        "INSERT INTO segflow.applied_tags (customer_id, tag, segment_id, action_id)"
        " SELECT customer_id, tag, segment_id, %(action)s FROM _tag_ops WHERE op = 'add'"
        " ON CONFLICT (customer_id, lower(tag)) DO UPDATE SET action_id ="
        " coalesce(EXCLUDED.action_id, segflow.applied_tags.action_id)", params)
    conn.execute(
        "DELETE FROM segflow.applied_tags AS a USING _tag_ops AS d"
        " WHERE d.op = 'remove' AND a.customer_id = d.customer_id"
        " AND lower(a.tag) = lower(d.tag)", params)
    written = conn.execute(
        f"""
        INSERT INTO segflow.tag_outbox (customer_id, tag, op, segment_id, action_id, reason)
        SELECT d.customer_id, d.tag, d.op, d.segment_id, %(action)s, %(reason)s
        FROM _tag_ops AS d
        WHERE true {skip}
        ORDER BY d.customer_id, d.tag
        ON CONFLICT (customer_id, lower(tag)) WHERE status = 'pending' DO NOTHING
        RETURNING op
        """, params).fetchall()
    adds = sum(1 for (op,) in written if op == "add")
    return Queued(adds, len(written) - adds, len(cancelled))


@dataclass(frozen=True)
class Operation:
    op_id: int
    customer_id: int
    tag: str
    op: str


def claim(conn: psycopg.Connection, limit: int) -> tuple[list[Operation], int]:
    """The next operations to send, marked in flight; returns them and how many failed locally.

    In-flight (`sent`) rows of a crashed sync come first, then pending ones, in queue order.
    Operations Shopify would refuse (tag too long, customer already at the tag limit) fail
    here without being sent. A batch never holds two operations on the same customer and tag,
    so their order is kept across batches.
    """
    with conn.transaction():
        rows = conn.execute(
            """
            SELECT o.op_id, o.customer_id, o.tag, o.op,
                   CASE WHEN o.op = 'add' THEN (
                       SELECT count(DISTINCT lower(t)) FROM (
                           SELECT unnest(c.tags) AS t FROM store.customers AS c
                           WHERE c.customer_id = o.customer_id
                           UNION ALL
                           SELECT a.tag FROM segflow.applied_tags AS a
                           WHERE a.customer_id = o.customer_id
                           UNION ALL SELECT o.tag) AS u) END AS tag_count
            FROM segflow.tag_outbox AS o
            WHERE o.status IN ('sent', 'pending')
            ORDER BY o.status = 'pending', o.op_id
            LIMIT %s
            FOR UPDATE SKIP LOCKED
            """, (limit,)).fetchall()
        batch: list[Operation] = []
        seen: set[tuple[int, str]] = set()
        failed: list[tuple[int, str]] = []
        for op_id, customer_id, tag, op, tag_count in rows:
            if (customer_id, tag.lower()) in seen:
                continue
            seen.add((customer_id, tag.lower()))
            problem = local_problem(tag, op, tag_count, customer_id)
            if problem:
                failed.append((op_id, problem))
            else:
                batch.append(Operation(op_id, customer_id, tag, op))
        if failed:
            record_failed(conn, failed)
        if batch:
            conn.execute(
                "UPDATE segflow.tag_outbox SET status = 'sent', attempts = attempts + 1,"
                " updated_at = now() WHERE op_id = ANY(%s)", ([o.op_id for o in batch],))
    return batch, len(failed)


NO_SHOPIFY_ID = ("the customer has no Shopify customer id (segflow derived one for a customer "
                 "the import gave none): nothing is sent for it")


def local_problem(tag: str, op: str, tag_count: int | None,
                  customer_id: int | None = None) -> str | None:
    """Why Shopify would refuse this operation, checked before sending; None when fine."""
    if customer_id is not None and customer_id <= 0:
        return NO_SHOPIFY_ID
    if op != "add":
        return None
    if not tag.strip():
        return "the tag is empty"
    if len(tag) > MAX_TAG_LENGTH:
        return f"the tag is longer than {MAX_TAG_LENGTH} characters ({len(tag)})"
    if "," in tag:
        return "the tag contains a comma (Shopify reads commas as tag separators)"
    if tag_count is not None and tag_count > MAX_TAGS:
        return f"the customer would have more than {MAX_TAGS} tags"
    return None


def record_done(conn: psycopg.Connection, op_ids: list[int]) -> None:
    if op_ids:
        conn.execute("UPDATE segflow.tag_outbox SET status = 'done', last_error = NULL,"
                     " updated_at = now() WHERE op_id = ANY(%s)", (op_ids,))


def record_failed(conn: psycopg.Connection, failures: list[tuple[int, str]]) -> None:
    """Refused for good: the add was not made, so the tag is not ours (no later remove)."""
    if not failures:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE segflow.tag_outbox SET status = 'failed', last_error = %s,"
            " updated_at = now() WHERE op_id = %s", [(msg, op_id) for op_id, msg in failures])
    conn.execute(
        "DELETE FROM segflow.applied_tags AS a USING segflow.tag_outbox AS o"
        " WHERE o.op_id = ANY(%s) AND o.op = 'add' AND a.customer_id = o.customer_id"
        " AND lower(a.tag) = lower(o.tag)", ([op_id for op_id, _ in failures],))


def record_error(conn: psycopg.Connection, op_ids: list[int], message: str) -> None:
    """A transient failure: the operations stay in flight, to be sent again."""
    if op_ids:
        conn.execute("UPDATE segflow.tag_outbox SET last_error = %s, updated_at = now()"
                     " WHERE op_id = ANY(%s)", (message, op_ids))


def retry_failed(conn: psycopg.Connection) -> int:
    """Queue failed operations again (after the cause was fixed in Shopify)."""
    with conn.transaction():
        rows = conn.execute(
            """
            UPDATE segflow.tag_outbox AS o SET status = 'pending', updated_at = now()
            WHERE o.status = 'failed' AND NOT EXISTS (
                SELECT 1 FROM segflow.tag_outbox AS p WHERE p.status = 'pending'
                AND p.customer_id = o.customer_id AND lower(p.tag) = lower(o.tag))
            RETURNING o.customer_id, o.tag, o.op, o.segment_id, o.action_id
            """).fetchall()
        adds = [(c, t, s, a) for c, t, op, s, a in rows if op == "add"]
        if adds:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO segflow.applied_tags (customer_id, tag, segment_id, action_id)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", adds)
    return len(rows)


def unlinked_members(conn: psycopg.Connection, segment_id: str | None = None) -> int:
    """Members of tagged segments without a real Shopify id: their tag is never sent."""
    where = "" if segment_id is None else " AND s.segment_id = %(segment)s"
    row = conn.execute(
        f"SELECT count(DISTINCT cs.customer_id) FROM segflow.customer_segments AS cs"
        f" CROSS JOIN LATERAL unnest(cs.segments) AS x(ordinal)"
        f" JOIN segflow.segments AS s ON s.ordinal = x.ordinal"
        f" WHERE s.tag IS NOT NULL AND s.retired_at IS NULL AND cs.customer_id <= 0{where}",
        {"segment": segment_id}).fetchone()
    return int(row[0]) if row else 0


def status_counts(conn: psycopg.Connection) -> dict[str, int]:
    counts = dict.fromkeys(("pending", "sent", "done", "failed", "cancelled"), 0)
    counts.update(conn.execute(
        "SELECT status, count(*) FROM segflow.tag_outbox GROUP BY status").fetchall())
    return counts


def recent_failures(conn: psycopg.Connection, limit: int = 10) -> list[dict]:
    rows = conn.execute(
        "SELECT op_id, customer_id, tag, op, last_error FROM segflow.tag_outbox"
        " WHERE status = 'failed' ORDER BY updated_at DESC, op_id DESC LIMIT %s",
        (limit,)).fetchall()
    return [dict(zip(("op_id", "customer_id", "tag", "op", "error"), r, strict=True))
            for r in rows]


@dataclass(frozen=True)
class SegmentTagSync:
    """Where a segment's tag stands: the customers segflow tagged, its operations, failures."""

    segment: str
    tag: str | None
    carriers: int        # customers holding the tag in the ledger (sent or waiting to be)
    waiting_adds: int    # ... of whom the add has not been sent yet
    counts: dict[str, int]  # the segment's sync operations (not one-off actions') by status
    failures: list[dict]    # the newest failed ones
    last_synced: dt.datetime | None  # when one of them was last sent (done or failed)
    unlinked: int = 0       # members without a Shopify customer id: never tagged


def segment_tag_sync(conn: psycopg.Connection, segment_id: str,
                     failures: int = 5) -> SegmentTagSync:
    """A segment's tag sync for the dashboard: one segment's share of `seg sync`'s outbox."""
    row = conn.execute("SELECT tag FROM segflow.segments WHERE segment_id = %s",
                       (segment_id,)).fetchone()
    tag = row[0] if row else None
    carriers = waiting = 0
    if tag:
        carriers, waiting = conn.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM segflow.tag_outbox AS o
                WHERE o.customer_id = a.customer_id AND lower(o.tag) = lower(a.tag)
                  AND o.op = 'add' AND o.status IN ('pending', 'sent')))
            FROM segflow.applied_tags AS a WHERE lower(a.tag) = lower(%s)
            """, (tag,)).fetchone()
    counts = dict.fromkeys(("pending", "sent", "done", "failed", "cancelled"), 0)
    last = None
    for status, n, newest in conn.execute(
            "SELECT status, count(*), max(updated_at) FROM segflow.tag_outbox"
            " WHERE segment_id = %s AND action_id IS NULL GROUP BY status", (segment_id,)):
        counts[status] = n
        if status in ("done", "failed") and (last is None or newest > last):
            last = newest
    rows = conn.execute(
        "SELECT updated_at, customer_id, tag, op, attempts, last_error FROM segflow.tag_outbox"
        " WHERE segment_id = %s AND action_id IS NULL AND status = 'failed'"
        " ORDER BY updated_at DESC, op_id DESC LIMIT %s", (segment_id, failures)).fetchall()
    keys = ("at", "customer_id", "tag", "op", "attempts", "error")
    return SegmentTagSync(segment_id, tag, carriers, waiting, counts,
                          [dict(zip(keys, r, strict=True)) for r in rows], last,
                          unlinked_members(conn, segment_id) if tag else 0)
