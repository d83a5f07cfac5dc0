"""A saved plan file: signed by `seg plan --out`, verified by `seg apply PLAN` before anything.

A plan file is applied only if it is exactly what `seg plan` wrote against this database:
1. its signature, an HMAC-SHA256 over the canonical JSON of every field of the file (keys
   sorted, no whitespace), with the key kept in the database (`segflow.plan_key`, made at
   random by migration 6), must match: any edit — a rule, a count, a segment added or removed,
   a tag — and any plan made against another database is refused;
2. its contents must agree with themselves: every desired segment's canonical source,
   fingerprint, attributes and compiled SQL are recomputed from its source, and every change
   must carry the definition it will apply.
Reformatting the file (indentation, key order) changes nothing and is accepted.

The key is readable by every role that can read segflow's schema (the plan-preview role too):
the signature proves a plan is unedited, not who may apply it — that is whoever holds a role
that can write.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import psycopg

from segflow.compiler.definition import declaration_source, fingerprint
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import build_project
from segflow.compiler.query import render, segment_query
from segflow.dsl.parser import parse
from segflow.errors import SegflowError
from segflow.lifecycle.plan_model import PLAN_FORMAT, Plan

SIGNATURE = "signature"


def plan_key(conn: psycopg.Connection) -> bytes:
    """This database's key for signing plan files (read in a transaction of its own, so that
    an apply after it commits its own transaction, not one left open here)."""
    with conn.transaction():
        row = conn.execute("SELECT key FROM segflow.plan_key").fetchone()
    if row is None:
        raise SegflowError("the database has no plan signing key (segflow.plan_key is empty); "
                           "restore it by running the schema migration again")
    return row[0].encode()


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sign(body: dict, key: bytes) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def signed_json(plan: Plan, key: bytes) -> str:
    """The plan as JSON for `--out` / `--format json`, with its signature as the last field."""
    body = plan.model_dump(mode="json")
    return json.dumps({**body, SIGNATURE: _sign(body, key)}, indent=2, ensure_ascii=False)


def parse_plan_json(text: str, source: str) -> dict:
    """The JSON object of a plan file (not yet verified); an unreadable file: one message."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise SegflowError(f"{source}: not a segflow plan: {exc}") from None
    if not isinstance(body, dict) or "format" not in body:
        raise SegflowError(f"{source}: not a segflow plan (no plan format field)")
    return body


def verify(body: dict, key: bytes, source: str, timezone: str, root: Path) -> Plan:
    """The plan of a file, if it is exactly what `seg plan` wrote against this database."""
    remake = f"make a new plan with `seg plan --out {source}`"
    if body.get("format") != PLAN_FORMAT:
        raise SegflowError(f"{source} is a plan of format {body.get('format')!r}, made by another "
                           f"segflow version (this one reads format {PLAN_FORMAT}); {remake}")
    body = dict(body)
    signature = body.pop(SIGNATURE, None)
    if not isinstance(signature, str):
        raise SegflowError(f"{source} is not signed, so it cannot be shown to be what `seg plan` "
                           f"wrote; {remake}")
    if not hmac.compare_digest(signature, _sign(body, key)):
        raise SegflowError(f"{source} is not exactly what `seg plan` wrote against this database "
                           "(it was edited, or made against another database): its signature "
                           f"does not match; {remake}")
    try:
        plan = Plan.model_validate(body)
    except ValueError as exc:
        raise SegflowError(f"{source}: not a segflow plan: {str(exc).splitlines()[0]}") from None
    check_contents(plan, timezone, root, source)
    return plan


def check_contents(plan: Plan, timezone: str, root: Path, source: str = "the plan") -> None:
    """Every fingerprint and compiled query of the plan, recomputed from its definitions."""
    if plan.offline:
        return
    def refuse(what: str) -> SegflowError:
        return SegflowError(f"{source} does not agree with itself: {what}; make a new plan")

    texts = [f"group {g.id} {{\n}}\n" for g in plan.desired_groups]
    texts += [d.source for d in plan.desired_segments]
    project = build_project([parse("\n".join(texts), "<plan>")], root, [],
                            check_list_files=False)
    desired = {d.id: d for d in plan.desired_segments}
    if len(desired) != len(plan.desired_segments) or set(desired) != set(project.segments):
        raise refuse("its list of segments does not match the definitions it carries")
    ev = Evaluation(plan.evaluation_day, timezone)
    for seg_id, d in desired.items():
        seg = project.segments[seg_id]
        actual = (declaration_source(seg.decl), seg.title, seg.description, seg.tag,
                  seg.list_path, list(seg.groups))
        if actual != (d.source, d.title, d.description, d.tag, d.list_path, d.groups):
            raise refuse(f"segment {seg_id}'s attributes are not those of its definition")
        if fingerprint(d.source, d.list_hash) != d.fingerprint:
            raise refuse(f"segment {seg_id}'s fingerprint does not match its definition")
        if render(segment_query(project, seg_id, ev)) != d.compiled_sql:
            raise refuse(f"segment {seg_id}'s compiled SQL is not that of its definition")
    for change in plan.segments:
        d = desired.get(change.id)
        if change.action == "retire":
            if d is not None:
                raise refuse(f"segment {change.id} is both retired and defined")
            continue
        if d is None:
            raise refuse(f"segment {change.id} is {change.action}d without a definition")
        if change.action in ("create", "update") and (
                change.new_source != d.source or change.tag != d.tag):
            raise refuse(f"the change of segment {change.id} is not its definition")
    listed = {c.id for c in plan.segments if c.action != "retire"}
    if listed != set(desired):
        raise refuse("its changes do not list every segment it defines")
