"""Make a plan: the segment files (desired) against the applied state.

Member counts are evaluated as of the state's day (the last daily run, else today), so the
differences shown come from the definitions, not from new orders. The plan only reads: one
query, no temporary tables, so it works under a read-only database role.

An offline plan compares the files with those of a git base instead (lifecycle/git_base.py), by
the same comparison, and leaves the member figures unknown.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
from sqlglot import exp

from segflow import destinations
from segflow.compiler.definition import (
    declaration_source,
    effective_fingerprints,
    list_hash,
    segment_fingerprint,
)
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.facts import FACTS, facts_ctes
from segflow.compiler.project import Project
from segflow.compiler.query import compile_project, render, segment_query
from segflow.engines.postgres.state import (
    AppliedGroup,
    AppliedSegment,
    AppliedState,
    applied_project,
    read_state,
)
from segflow.lifecycle.plan_model import (
    DesiredGroup,
    DesiredSegment,
    GroupChange,
    Plan,
    SegmentChange,
)


def desired_segments(project: Project, ev: Evaluation) -> list[DesiredSegment]:
    out = []
    for seg in sorted(project.segments.values(), key=lambda s: s.id):
        source = declaration_source(seg.decl)
        out.append(DesiredSegment(
            id=seg.id, source=source, fingerprint=segment_fingerprint(seg, project.root),
            title=seg.title, description=seg.description, path=seg.path, tag=seg.tag,
            list_path=seg.list_path, list_hash=list_hash(seg, project.root),
            groups=list(seg.groups),
            compiled_sql=render(segment_query(project, seg.id, ev)),
        ))
    return out


_KEYS = ("title", "description", "groups", "tag", "list", "where")


def _parts(source: str) -> dict[str, list[str]]:
    """A formatted declaration split by attribute (continuation lines stay with theirs)."""
    parts: dict[str, list[str]] = {}
    key = "header"
    for line in source.splitlines():
        word = line.strip().split(" ", 1)[0]
        if word in _KEYS and line.startswith("  ") and not line.startswith("   "):
            key = word
        parts.setdefault(key, []).append(line)
    return parts


def _reasons(old_src: str, new_src: str, own_changed: bool, deps: list[str]) -> list[str]:
    reasons = []
    if own_changed:
        old, new = _parts(old_src), _parts(new_src)
        changed = [("rule" if k == "where" else k) for k in _KEYS if old.get(k) != new.get(k)]
        reasons.append("changed: " + ", ".join(changed) if changed else "list file changed")
    if deps:
        reasons.append("depends on changed " + ", ".join(deps))
    return reasons


def make_plan(conn: psycopg.Connection, project: Project, timezone: str,
              today: dt.date) -> Plan:
    """The plan, evaluated as of the last daily run's day, or `today` before the first run."""
    state = read_state(conn)
    ev = Evaluation(state.last_run_day or today, timezone)
    plan = _compare(project, state, ev)
    _count_members(conn, project, state, ev, plan.segments)
    return plan


def _compare(project: Project, state: AppliedState, ev: Evaluation) -> Plan:
    """The definition changes from `state` to `project` (member counts left at zero)."""
    desired = desired_segments(project, ev)
    by_id = {d.id: d for d in desired}
    new_own = {d.id: d.fingerprint for d in desired}
    new_eff = effective_fingerprints(project, new_own)
    old_project = applied_project(state, project.root) if state.active else None
    old_eff = (effective_fingerprints(old_project, {s.id: s.fingerprint
                                                    for s in state.active.values()})
               if old_project else {})
    changes: list[SegmentChange] = []
    for d in desired:
        old = state.active.get(d.id)
        if old is None:
            changes.append(SegmentChange(id=d.id, action="create", title=d.title, tag=d.tag,
                                         new_source=d.source, compiled_sql=d.compiled_sql))
            continue
        own_changed = old.fingerprint != d.fingerprint
        deps = [dep for dep in project.segments[d.id].depends_on
                if new_eff.get(dep) != old_eff.get(dep)]
        action = "update" if own_changed or new_eff[d.id] != old_eff.get(d.id) else "unchanged"
        changes.append(SegmentChange(
            id=d.id, action=action, title=d.title, tag=d.tag, old_tag=old.tag,
            reasons=_reasons(old.source, d.source, own_changed, deps) if action == "update" else [],
            old_source=old.source if action == "update" else None,
            new_source=d.source if action == "update" else None,
            compiled_sql=d.compiled_sql if action == "update" else None,
        ))
    for old in state.active.values():
        if old.id not in by_id:
            changes.append(SegmentChange(id=old.id, action="retire", title=old.title,
                                         old_tag=old.tag, old_source=old.source))
    changes.sort(key=lambda c: c.id)
    return Plan(
        created_at=dt.datetime.now(dt.UTC),
        base_fingerprint=state.fingerprint(),
        evaluation_day=ev.as_of,
        segments=changes,
        groups=_group_changes(project, state),
        desired_segments=desired,
        desired_groups=[DesiredGroup(id=g.id, title=g.title, description=g.description)
                        for g in sorted(project.groups.values(), key=lambda g: g.id)],
    )


def offline_plan(project: Project, base: Project | None, base_label: str | None,
                 timezone: str, today: dt.date) -> Plan:
    """Definition changes only, against the segment files of `base` (no database at all).

    Without a base every segment is listed as created. Member counts, entering / leaving and
    tag operations are None: unknown, not zero. Such a plan cannot be applied.
    """
    state = _state_of(base) if base is not None else AppliedState()
    plan = _compare(project, state, Evaluation(today, timezone))
    for c in plan.segments:
        c.members_before = c.members_after = c.entering = c.leaving = None
        c.tag_adds = c.tag_removes = None
    notes = ["Offline plan: no database, so member counts, entering and leaving customers and "
             "tag operations are not available; only definition changes are shown."]
    if base is not None:
        notes.append(f"Compared with the segment files of {base_label}.")
    else:
        notes.append(f"No base to compare with ({base_label}): every segment is listed as "
                     "defined, as if none were applied.")
    return plan.model_copy(update={"offline": True, "base_fingerprint": "offline",
                                   "base": base_label, "notes": notes})


def _state_of(base: Project) -> AppliedState:
    """The segment files of a base revision, standing in for the applied state."""
    state = AppliedState()
    for i, seg in enumerate(sorted(base.segments.values(), key=lambda s: s.id), start=1):
        state.segments[seg.id] = AppliedSegment(
            id=seg.id, ordinal=i, title=seg.title, description=seg.description, path=seg.path,
            tag=seg.tag, list_path=seg.list_path, fingerprint=segment_fingerprint(seg, base.root),
            source=declaration_source(seg.decl), compiled_sql="", retired=False,
            groups=tuple(seg.groups))
    for gid, group in base.groups.items():
        members = tuple(sorted(s.id for s in base.segments.values() if gid in s.groups))
        state.groups[gid] = AppliedGroup(gid, group.title, group.description, False, members)
    return state


def _group_changes(project: Project, state: AppliedState) -> list[GroupChange]:
    out = []
    for gid, group in sorted(project.groups.items()):
        members = sorted(s.id for s in project.segments.values() if gid in s.groups)
        old = state.groups.get(gid)
        if old is None or old.retired:
            out.append(GroupChange(id=gid, action="create", title=group.title,
                                   segments_added=members))
            continue
        added = sorted(set(members) - set(old.segments))
        removed = sorted(set(old.segments) - set(members))
        changed = added or removed or old.title != group.title or old.description != group.description
        out.append(GroupChange(id=gid, action="update" if changed else "unchanged",
                               title=group.title, segments_added=added,
                               segments_removed=removed))
    for gid, old in sorted(state.groups.items()):
        if gid not in project.groups and not old.retired:
            out.append(GroupChange(id=gid, action="retire", title=old.title,
                                   segments_removed=list(old.segments)))
    return out


def _sum_if(cond: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(exp.Sum(this=exp.Case(ifs=[exp.If(this=cond, true=exp.Literal.number(1))],
                                            default=exp.Literal.number(0))), name)


def _count_members(conn: psycopg.Connection, project: Project, state: AppliedState,
                   ev: Evaluation, changes: list[SegmentChange]) -> None:
    """Fill before / after / entering / leaving and the tag operations of each change."""
    current = dict(conn.execute(
        "SELECT x, count(*) FROM segflow.customer_segments, unnest(segments) AS x GROUP BY x"
    ).fetchall())
    todo = [c for c in changes if c.action != "unchanged"]
    for c in changes:
        old = state.active.get(c.id)
        c.members_before = c.members_after = current.get(old.ordinal, 0) if old else 0
    if not todo:
        return
    compiled = compile_project(project, ev)
    columns: list[exp.Expression] = [exp.column("customer_id", FACTS)]
    for i, c in enumerate(todo):
        pred = compiled.predicates.get(c.id, exp.false())
        columns.append(exp.alias_(exp.Coalesce(this=pred.copy(), expressions=[exp.false()]),
                                  f"p{i}"))
    desired = exp.select(*columns).from_(exp.to_table("facts").as_(FACTS))
    measures = []
    for i, c in enumerate(todo):
        old = state.active.get(c.id)
        p = exp.column(f"p{i}", "d")
        p = exp.Coalesce(this=p, expressions=[exp.false()])
        if old is None:
            b: exp.Expression = exp.false()
        else:
            b = exp.Coalesce(this=exp.EQ(this=exp.Literal.number(old.ordinal), expression=exp.Any(
                this=exp.paren(exp.column("segments", "c")))), expressions=[exp.false()])
        measures += [
            _sum_if(p, f"after{i}"),
            _sum_if(b, f"before{i}"),
            _sum_if(exp.and_(p.copy(), exp.not_(b.copy())), f"enter{i}"),
            _sum_if(exp.and_(b.copy(), exp.not_(p.copy())), f"leave{i}"),
        ]
    query = exp.select(*measures).from_(exp.to_table("desired").as_("d")).join(
        exp.to_table("segflow.customer_segments").as_("c"),
        on=exp.column("customer_id", "c").eq(exp.column("customer_id", "d")),
        join_type="full",
    )
    for name, cte in facts_ctes(compiled.facts, ev):
        query = query.with_(name, as_=cte)
    query = query.with_("desired", as_=desired)
    # what each destination would queue: the same diff the run and apply queue
    targets = destinations.enabled()
    for target in targets:
        query = target.with_plan_operations(query, [c.id for c in todo], [
            (c.id, c.tag, f"p{i}") for i, c in enumerate(todo) if c.action != "retire"])
    row = conn.execute(render(query)).fetchone()
    assert row is not None
    for i, c in enumerate(todo):
        after, before, enter, leave = (int(v or 0) for v in row[4 * i: 4 * i + 4])
        c.members_after, c.members_before, c.entering, c.leaving = after, before, enter, leave
        if c.action == "retire":
            c.members_after = 0
    planned = [t.read_plan_operations(v) for t, v in zip(targets, row[-len(targets):], strict=True)]
    for c in changes:
        ops = [p[c.id] for p in planned if c.id in p]
        c.tag_adds = sum(o.adds for o in ops)
        c.tag_removes = sum(o.removes for o in ops)
        c.tag_unlinked = sum(o.unreachable for o in ops)


def plan_for(conn: psycopg.Connection, project: Project, timezone: str, today: dt.date,
             root: Path | None = None) -> Plan:
    """Make a plan in a read-only transaction (nothing is ever written)."""
    del root
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        return make_plan(conn, project, timezone, today)
