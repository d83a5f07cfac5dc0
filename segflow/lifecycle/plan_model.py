"""The plan: what `seg apply` would change, as one plain object rendered three ways.

It carries the fingerprint of the applied state it was made against, so a saved plan whose base
moved since is refused, and the desired definitions themselves, so apply does exactly what the
plan showed (not what the files say by then). A saved plan file is signed by `seg plan` and
verified by `seg apply` (lifecycle/plan_file.py). An offline plan (`seg plan --offline`) compares
the files with a git base instead of the database: its member figures are None, and it cannot be
applied.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["create", "update", "retire", "unchanged"]
PLAN_FORMAT = 2  # 2: saved plans are signed (lifecycle/plan_file.py)


class SegmentChange(BaseModel):
    id: str
    action: Action
    title: str
    reasons: list[str] = Field(default_factory=list)
    # None in an offline plan: unknown without a database (not zero)
    members_before: int | None = 0
    members_after: int | None = 0
    entering: int | None = 0
    leaving: int | None = 0
    tag: str | None = None
    old_tag: str | None = None
    tag_adds: int | None = 0
    tag_removes: int | None = 0
    tag_unlinked: int | None = 0  # members the tag cannot go to: no Shopify customer id
    old_source: str | None = None
    new_source: str | None = None
    compiled_sql: str | None = None


class GroupChange(BaseModel):
    id: str
    action: Action
    title: str
    segments_added: list[str] = Field(default_factory=list)
    segments_removed: list[str] = Field(default_factory=list)


class DesiredSegment(BaseModel):
    id: str
    source: str
    fingerprint: str
    title: str
    description: str
    path: str
    tag: str | None
    list_path: str | None
    list_hash: str | None
    groups: list[str]
    compiled_sql: str


class DesiredGroup(BaseModel):
    id: str
    title: str
    description: str


class Plan(BaseModel):
    format: int = PLAN_FORMAT
    created_at: dt.datetime
    base_fingerprint: str
    evaluation_day: dt.date
    offline: bool = False
    base: str | None = None  # offline: what the files were compared with
    notes: list[str] = Field(default_factory=list)  # shown by every rendering
    segments: list[SegmentChange]
    groups: list[GroupChange]
    desired_segments: list[DesiredSegment]
    desired_groups: list[DesiredGroup]

    @property
    def changes(self) -> list[SegmentChange]:
        return [s for s in self.segments if s.action != "unchanged"]

    @property
    def group_changes(self) -> list[GroupChange]:
        return [g for g in self.groups if g.action != "unchanged"]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.group_changes)

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "retire": 0, "unchanged": 0}
        for s in self.segments:
            out[s.action] += 1
        return out

    def tag_operations(self) -> tuple[int, int]:
        return (sum(s.tag_adds or 0 for s in self.segments),
                sum(s.tag_removes or 0 for s in self.segments))
