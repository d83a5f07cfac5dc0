"""One-off tag actions, as in the original product: tag a segment's current members once, or
remove a tag segflow put on customers; and their history.

An assigned tag belongs to its action: the daily sync never removes it when a customer leaves
the segment; only `seg tags remove` does. A merchant's own tags are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from segflow.destinations.base import Queued
from segflow.destinations.shopify.outbox import QUEUE_LOCK, local_problem, write_ops
from segflow.destinations.shopify.tagdiff import adds_sql
from segflow.errors import SegflowError


@dataclass(frozen=True)
class ActionResult:
    action_id: int
    targeted: int
    queued: Queued
    unlinked: int = 0  # targeted members without a Shopify customer id: nothing sent


def _segment(conn: psycopg.Connection, segment_id: str) -> tuple[int, str | None]:
    row = conn.execute("SELECT ordinal, tag FROM segflow.segments WHERE segment_id = %s"
                       " AND retired_at IS NULL", (segment_id,)).fetchone()
    if row is None:
        raise SegflowError(f"unknown segment '{segment_id}': it is not applied (see `seg ls`)")
    return row


def _check_tag(tag: str) -> str:
    tag = tag.strip()
    problem = local_problem(tag, "add", None)
    if problem:
        raise SegflowError(f"cannot use the tag {tag[:40]!r}: {problem}")
    return tag


def _new_action(conn, kind: str, tag: str, segment_id: str | None) -> int:
    row = conn.execute("INSERT INTO segflow.tag_actions (kind, tag, segment_id) VALUES"
                       " (%s, %s, %s) RETURNING action_id", (kind, tag, segment_id)).fetchone()
    assert row is not None
    return row[0]


def assign(conn: psycopg.Connection, segment_id: str, tag: str) -> ActionResult:
    """Queue `tag` for every current member of the segment (once: kept when they leave)."""
    tag = _check_tag(tag)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_LOCK,))
        ordinal, _ = _segment(conn, segment_id)
        action_id = _new_action(conn, "assign", tag, segment_id)
        conn.execute("DROP TABLE IF EXISTS _tag_desired, _tag_ops")
        conn.execute(
            "CREATE TEMP TABLE _tag_desired ON COMMIT DROP AS"
            " SELECT customer_id, %s::text AS tag, %s::text AS segment_id"
            " FROM segflow.customer_segments WHERE %s = ANY(segments)",
            (tag, segment_id, ordinal))
        targeted, unlinked = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE customer_id <= 0) FROM _tag_desired"
        ).fetchone()
        # members already carrying it as ours keep it, now on behalf of this action
        conn.execute(
            "UPDATE segflow.applied_tags AS a SET action_id = %s FROM _tag_desired AS d"
            " WHERE a.customer_id = d.customer_id AND lower(a.tag) = lower(d.tag)", (action_id,))
        conn.execute(f"CREATE TEMP TABLE _tag_ops ON COMMIT DROP AS {adds_sql('_tag_desired')}")
        queued = write_ops(conn, f"tags assign {segment_id}", action_id)
        conn.execute("UPDATE segflow.tag_actions SET customers = %s WHERE action_id = %s",
                     (targeted, action_id))
    return ActionResult(action_id, targeted, queued, unlinked)


def remove(conn: psycopg.Connection, tag: str, segment_id: str | None = None) -> ActionResult:
    """Queue the removal of `tag` where segflow put it (only a segment's members, if given)."""
    tag = tag.strip()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_LOCK,))
        synced = [r[0] for r in conn.execute(
            "SELECT segment_id FROM segflow.segments WHERE lower(tag) = lower(%s)"
            " AND retired_at IS NULL"
            " ORDER BY 1", (tag,))]
        if synced:
            raise SegflowError(
                f"the tag '{tag}' is kept in sync by segment {', '.join(synced)}: change or drop "
                "its `tag` and apply instead (the next run would add it back)")
        params: dict = {"tag": tag}
        members = ""
        if segment_id is not None:
            params["ordinal"], _ = _segment(conn, segment_id)
            members = (" AND EXISTS (SELECT 1 FROM segflow.customer_segments AS cs WHERE"
                       " cs.customer_id = a.customer_id AND %(ordinal)s = ANY(cs.segments))")
        action_id = _new_action(conn, "remove", tag, segment_id)
        conn.execute("DROP TABLE IF EXISTS _tag_ops")
        conn.execute(
            "CREATE TEMP TABLE _tag_ops ON COMMIT DROP AS SELECT a.customer_id, a.tag,"
            " 'remove'::text AS op, a.segment_id FROM segflow.applied_tags AS a"
            " WHERE lower(a.tag) = lower(%(tag)s)" + members, params)
        targeted = conn.execute("SELECT count(*) FROM _tag_ops").fetchone()[0]
        queued = write_ops(conn, "tags remove", action_id)
        conn.execute("UPDATE segflow.tag_actions SET customers = %s WHERE action_id = %s",
                     (targeted, action_id))
    return ActionResult(action_id, targeted, queued)


HISTORY_COLUMNS = ["action_id", "kind", "tag", "segment", "customers", "operations", "done",
                   "failed", "waiting", "cancelled", "status", "created_at"]


def _status(done: int, failed: int, waiting: int, cancelled: int) -> str:
    """An action's status from its operations; cancelled ones (overtaken before they were
    sent) are not `done`: an action all of whose operations were cancelled is `cancelled`."""
    if waiting:
        return "waiting"
    if failed:
        return "failed" if not done else "partly failed"
    if cancelled:
        return "cancelled" if not done else "partly cancelled"
    return "done"


def history(conn: psycopg.Connection, limit: int | None = None) -> list[dict]:
    """Every one-off action, newest first, with how far its operations got."""
    rows = conn.execute(
        """
        SELECT a.action_id, a.kind, a.tag, a.segment_id, a.customers,
               count(o.op_id) FILTER (WHERE o.status <> 'cancelled'),
               count(o.op_id) FILTER (WHERE o.status = 'done'),
               count(o.op_id) FILTER (WHERE o.status = 'failed'),
               count(o.op_id) FILTER (WHERE o.status IN ('pending', 'sent')),
               count(o.op_id) FILTER (WHERE o.status = 'cancelled'),
               a.created_at
        FROM segflow.tag_actions AS a
        LEFT JOIN segflow.tag_outbox AS o ON o.action_id = a.action_id
        GROUP BY a.action_id
        ORDER BY a.action_id DESC
        LIMIT %s
        """, (limit,)).fetchall()
    out = []
    for (action_id, kind, tag, segment, customers, ops, done, failed, waiting, cancelled,
         created) in rows:
        out.append({"action_id": action_id, "kind": kind, "tag": tag, "segment": segment,
                    "customers": customers, "operations": ops, "done": done, "failed": failed,
                    "waiting": waiting, "cancelled": cancelled,
                    "status": _status(done, failed, waiting, cancelled),
                    "created_at": created.isoformat(timespec="seconds")})
    return out
