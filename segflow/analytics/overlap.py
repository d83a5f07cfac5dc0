"""Overlap: how much segments share their members on a day, pair by pair (Jaccard index)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import combinations

import psycopg

from segflow.analytics import membership
from segflow.analytics.membership import MEMBERS_ON
from segflow.errors import SegflowError

_PAIRS = f"""
WITH m AS ({MEMBERS_ON})
SELECT a.segment_ord, b.segment_ord, count(*)
FROM m AS a JOIN m AS b ON b.customer_id = a.customer_id AND a.segment_ord < b.segment_ord
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    a_members: int
    b_members: int
    both: int  # members of both
    union: int  # members of either

    @property
    def jaccard(self) -> float | None:
        """|A ∩ B| / |A ∪ B|; None when both are empty."""
        return self.both / self.union if self.union else None

    def as_dict(self) -> dict:
        jaccard = self.jaccard
        return {"a": self.a, "b": self.b, "a_members": self.a_members,
                "b_members": self.b_members, "both": self.both, "union": self.union,
                "jaccard": None if jaccard is None else round(jaccard, 6)}


@dataclass(frozen=True)
class OverlapReport:
    day: dt.date
    members: dict[str, int] = field(default_factory=dict)  # segment -> members, in given order
    pairs: list[Pair] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(),
                "segments": [{"segment": s, "members": n} for s, n in self.members.items()],
                "pairs": [p.as_dict() for p in self.pairs]}


@membership.read_consistently
def overlap_report(conn: psycopg.Connection, segment_ids: list[str], *,
                   day: dt.date | None = None) -> OverlapReport:
    """Members of each segment, and of each pair, at the end of `day` (default: the last
    recorded day)."""
    if len(segment_ids) < 2:
        raise SegflowError("overlap needs at least two segments")
    duplicated = sorted({s for s in segment_ids if segment_ids.count(s) > 1})
    if duplicated:
        raise SegflowError(f"segment '{duplicated[0]}' is named twice")
    segments = membership.resolve_segments(conn, segment_ids)
    day = day or membership.last_recorded_day(conn)
    membership.require_history(conn, segments, day)
    counts = membership.member_counts(conn, segments, day)
    by_ord = {s.ordinal: s.id for s in segments}
    shared = {(by_ord[a], by_ord[b]): n for a, b, n in
              conn.execute(_PAIRS, {"ords": list(by_ord), "until": day})}
    pairs = []
    for a, b in combinations(segment_ids, 2):
        both = shared.get((a, b), shared.get((b, a), 0))
        pairs.append(Pair(a, b, counts[a], counts[b], both, counts[a] + counts[b] - both))
    return OverlapReport(day, {s: counts[s] for s in segment_ids}, pairs)
