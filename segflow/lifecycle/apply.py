"""Apply a plan: write the desired definitions and bring memberships in line, atomically.

Under the run lock, in one transaction: the plan's base fingerprint must still match the applied
state (else it is stale and refused); definitions, versions, groups and static lists are
written; created and changed segments are re-evaluated as of the plan's day and their
entered / left events recorded; retired segments leave every customer. Applying the same plan
twice is refused as stale; re-planning then shows no changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from segflow import destinations
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import build_project
from segflow.compiler.query import compile_project
from segflow.dsl.parser import parse
from segflow.engines.postgres import evaluate, locking
from segflow.engines.postgres.state import bump_revision, read_state
from segflow.errors import SegflowError
from segflow.lifecycle.killpoints import pause_point
from segflow.lifecycle.plan_model import Plan
from segflow.lifecycle.static_lists import ListLoad, load_list


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    retired: int = 0
    entered: int = 0
    left: int = 0
    lists: list[ListLoad] = field(default_factory=list)


def apply_plan(conn: psycopg.Connection, plan: Plan, root: Path, timezone: str, *,
               lock_timeout: float | None = None, say=None) -> ApplyResult:
    say = say or (lambda _m: None)
    if plan.offline:
        raise SegflowError("an offline plan (made without the database) cannot be applied")
    result = ApplyResult()
    with conn.transaction():
        locking.acquire(conn, timeout_s=lock_timeout, on_wait=say)
        state = read_state(conn)
        if state.fingerprint() != plan.base_fingerprint:
            raise SegflowError(
                "the plan is stale: the applied state changed since it was made (another apply "
                "or a daily run); make a new plan with `seg plan`"
            )
        for d in plan.desired_segments:
            if d.list_path and (root / d.list_path).is_file():
                digest = hashlib.sha256((root / d.list_path).read_bytes()).hexdigest()
                if digest != d.list_hash:
                    raise SegflowError(f"list file {d.list_path} changed since the plan was made;"
                                       " make a new plan")
        desired = {d.id: d for d in plan.desired_segments}
        touched: list[str] = []
        for change in plan.segments:
            if change.action in ("create", "update"):
                d = desired[change.id]
                _write_segment(conn, d)
                touched.append(d.id)
                if change.action == "create":
                    result.created += 1
                else:
                    result.updated += 1
            elif change.action == "retire":
                conn.execute("UPDATE segflow.segments SET retired_at = now() WHERE segment_id = %s",
                             (change.id,))
                conn.execute("DELETE FROM segflow.group_segments WHERE segment_id = %s",
                             (change.id,))
                result.retired += 1
        _write_groups(conn, plan)
        for d in plan.desired_segments:
            if d.list_path and d.id in touched:
                result.lists.append(load_list(conn, d.id, root / d.list_path, root=root))
        ords = dict(conn.execute("SELECT segment_id, ordinal FROM segflow.segments").fetchall())
        retired = [ords[c.id] for c in plan.segments if c.action == "retire"]
        if touched or retired:
            project = build_project(
                [parse("\n".join([*(f"group {g.id} {{\n}}\n" for g in plan.desired_groups),
                                  *(d.source for d in plan.desired_segments)]), "<plan>")],
                root, [], check_list_files=False)
            ev = Evaluation(plan.evaluation_day, timezone)
            compiled = compile_project(project, ev)
            evaluate.build_facts(conn, compiled)
            evaluate.build_members(conn, compiled, {sid: ords[sid] for sid in touched})
            scope = [ords[sid] for sid in touched] + retired
            result.entered, result.left = evaluate.record_changes(conn, plan.evaluation_day,
                                                                  scope)
            # memberships now come from fresh facts: the next run rebuilds its facts table
            conn.execute("UPDATE segflow.facts_state SET valid = false")
        pause_point("apply:memberships")
        if plan.has_changes:
            bump_revision(conn)
        conn.execute(
            "INSERT INTO segflow.runs (kind, day, finished_at, status, segments, detail)"
            " VALUES ('apply', %s, now(), 'ok', %s, %s)",
            (plan.evaluation_day, len(touched),
             Jsonb({"created": result.created, "updated": result.updated,
                    "retired": result.retired, "entered": result.entered,
                    "left": result.left})),
        )
        # the tag operations for the new memberships, in the same transaction: a crash at any
        # moment leaves both or neither (shopify/outbox.py)
        destinations.queue_all(conn, "apply")
        pause_point("apply:queued")
    pause_point("apply:committed")
    return result


def _write_segment(conn: psycopg.Connection, d) -> None:
    conn.execute(
        """
        INSERT INTO segflow.segments (segment_id, ordinal, title, description, path, tag,
                                      list_path, fingerprint)
        VALUES (%(id)s, nextval('segflow.segment_ordinal_seq'), %(title)s, %(description)s,
                %(path)s, %(tag)s, %(list_path)s, %(fingerprint)s)
        ON CONFLICT (segment_id) DO UPDATE SET
            title = EXCLUDED.title, description = EXCLUDED.description, path = EXCLUDED.path,
            tag = EXCLUDED.tag, list_path = EXCLUDED.list_path,
            fingerprint = EXCLUDED.fingerprint, updated_at = now(), retired_at = NULL
        """,
        d.model_dump(),
    )
    conn.execute(
        "INSERT INTO segflow.segment_versions (segment_id, fingerprint, source, compiled_sql,"
        " list_hash) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (d.id, d.fingerprint, d.source, d.compiled_sql, d.list_hash),
    )
    conn.execute("DELETE FROM segflow.group_segments WHERE segment_id = %s", (d.id,))


def _write_groups(conn: psycopg.Connection, plan: Plan) -> None:
    for g in plan.desired_groups:
        conn.execute(
            "INSERT INTO segflow.groups (group_id, title, description) VALUES (%s, %s, %s)"
            " ON CONFLICT (group_id) DO UPDATE SET title = EXCLUDED.title,"
            " description = EXCLUDED.description, updated_at = now(), retired_at = NULL"
            " WHERE (segflow.groups.title, segflow.groups.description, segflow.groups.retired_at)"
            " IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, NULL)",
            (g.id, g.title, g.description),
        )
    for change in plan.group_changes:
        if change.action == "retire":  # a retired group retires no segment
            conn.execute("UPDATE segflow.groups SET retired_at = now() WHERE group_id = %s",
                         (change.id,))
            conn.execute("DELETE FROM segflow.group_segments WHERE group_id = %s", (change.id,))
    desired_groups = {g.id for g in plan.desired_groups}
    for d in plan.desired_segments:
        for gid in d.groups:
            if gid in desired_groups:
                conn.execute("INSERT INTO segflow.group_segments VALUES (%s, %s)"
                             " ON CONFLICT DO NOTHING", (gid, d.id))
    # groups are part of a segment's definition, so `_write_segment` already reset the group
    # rows of every segment whose groups changed
