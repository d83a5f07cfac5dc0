"""segflow's applied state in the database: segments, groups, memberships, the state row.

Reading it back as a `Project` (the applied definitions, re-checked by the compiler) is what the
daily run evaluates: the run follows what was applied, never the working tree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from segflow.compiler.project import Project, build_project
from segflow.dsl import ast
from segflow.dsl.parser import parse

RUN_LOCK = 7_415_002  # advisory lock: one apply / run / backfill at a time


@dataclass(frozen=True)
class AppliedSegment:
    id: str
    ordinal: int
    title: str
    description: str
    path: str | None
    tag: str | None
    list_path: str | None
    fingerprint: str
    source: str
    compiled_sql: str
    retired: bool
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppliedGroup:
    id: str
    title: str
    description: str
    retired: bool
    segments: tuple[str, ...] = ()


@dataclass
class AppliedState:
    segments: dict[str, AppliedSegment] = field(default_factory=dict)
    groups: dict[str, AppliedGroup] = field(default_factory=dict)
    last_run_day: dt.date | None = None
    revision: int = 0

    @property
    def active(self) -> dict[str, AppliedSegment]:
        return {k: v for k, v in self.segments.items() if not v.retired}

    def fingerprint(self) -> str:
        """What a saved plan was made against: the applied definitions and the state revision."""
        import hashlib

        digest = hashlib.sha256(str(self.revision).encode())
        for seg in sorted(self.active.values(), key=lambda s: s.id):
            digest.update(f"{seg.id}:{seg.fingerprint}:{','.join(seg.groups)}\n".encode())
        for grp in sorted(self.groups.values(), key=lambda g: g.id):
            digest.update(f"g:{grp.id}:{grp.title}:{grp.retired}\n".encode())
        return digest.hexdigest()[:16]


def read_state(conn: psycopg.Connection) -> AppliedState:
    state = AppliedState()
    memberships: dict[str, list[str]] = {}
    for group_id, segment_id in conn.execute(
        "SELECT group_id, segment_id FROM segflow.group_segments ORDER BY 1, 2"
    ):
        memberships.setdefault(segment_id, []).append(group_id)
    for row in conn.execute(
        """
        SELECT s.segment_id, s.ordinal, s.title, s.description, s.path, s.tag, s.list_path,
               s.fingerprint, v.source, v.compiled_sql, s.retired_at IS NOT NULL
        FROM segflow.segments s
        JOIN segflow.segment_versions v USING (segment_id, fingerprint)
        ORDER BY s.segment_id
        """
    ):
        state.segments[row[0]] = AppliedSegment(*row, groups=tuple(memberships.get(row[0], ())))
    seg_by_group: dict[str, list[str]] = {}
    for seg_id, groups in memberships.items():
        for g in groups:
            seg_by_group.setdefault(g, []).append(seg_id)
    for gid, title, description, retired in conn.execute(
        "SELECT group_id, title, description, retired_at IS NOT NULL FROM segflow.groups"
        " ORDER BY group_id"
    ):
        state.groups[gid] = AppliedGroup(gid, title, description, retired,
                                         tuple(sorted(seg_by_group.get(gid, ()))))
    row = conn.execute("SELECT last_run_day, revision FROM segflow.state").fetchone()
    if row:
        state.last_run_day, state.revision = row
    return state


def applied_project(state: AppliedState, root: Path) -> Project:
    """The applied, active segments as a checked project (for the daily run and backfill)."""
    groups = sorted({g for s in state.active.values() for g in s.groups})
    texts = [f"group {g} {{\n}}\n" for g in groups]
    texts += [s.source for s in sorted(state.active.values(), key=lambda s: s.id)]
    source = parse("\n".join(texts), "<applied state>")
    return build_project([source], root, [], check_list_files=False)


def ordinals(state: AppliedState) -> dict[str, int]:
    return {s.id: s.ordinal for s in state.active.values()}


def bump_revision(conn: psycopg.Connection, *, last_run_day: dt.date | None = None) -> None:
    if last_run_day is None:
        conn.execute("UPDATE segflow.state SET revision = revision + 1")
    else:
        conn.execute(
            "UPDATE segflow.state SET revision = revision + 1,"
            " last_run_day = greatest(coalesce(last_run_day, %s), %s)",
            (last_run_day, last_run_day),
        )


def segment_decls(project: Project) -> dict[str, ast.SegmentDecl]:
    return {s.id: s.decl for s in project.segments.values()}
