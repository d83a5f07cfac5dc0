"""Journeys: how customers moved between the segments of a group from one day to another.

A customer's state on a day is the set of the group's segments they are in at the end of it:
`[]` (in none of them), one segment, or, where segments overlap, several (shown `a + b`). Each
customer in the group on either day is counted exactly once, in the cell (state on the first
day, state on the second), so the table sums to the customers in the group on either day.
Keeping overlaps as combined states loses nothing; in a group of disjoint segments (a
lifecycle) they never appear.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from segflow.analytics import membership
from segflow.analytics.membership import MEMBERS_ON, members_on_sql
from segflow.analytics.revenue import check_period

NONE_LABEL = "(none)"

_JOURNEY = """
WITH before AS ({members_on}), after AS ({members_after}),
states AS (
    SELECT coalesce(b.customer_id, a.customer_id) AS customer_id,
           coalesce(b.segs, '{{}}') AS from_state, coalesce(a.segs, '{{}}') AS to_state
    FROM (SELECT customer_id, array_agg(segment_ord ORDER BY segment_ord) AS segs
          FROM before GROUP BY customer_id) AS b
    FULL JOIN (SELECT customer_id, array_agg(segment_ord ORDER BY segment_ord) AS segs
               FROM after GROUP BY customer_id) AS a ON a.customer_id = b.customer_id
)
SELECT from_state, to_state, count(*) FROM states GROUP BY 1, 2
"""


def state_label(state: tuple[str, ...]) -> str:
    return " + ".join(state) if state else NONE_LABEL


@dataclass(frozen=True)
class Transition:
    from_state: tuple[str, ...]
    to_state: tuple[str, ...]
    customers: int

    def as_dict(self) -> dict:
        return {"from": list(self.from_state), "to": list(self.to_state),
                "from_label": state_label(self.from_state),
                "to_label": state_label(self.to_state), "customers": self.customers}


@dataclass(frozen=True)
class JourneyReport:
    group: str
    segments: tuple[str, ...]
    start: dt.date
    end: dt.date
    transitions: list[Transition] = field(default_factory=list)

    @property
    def customers(self) -> int:
        """Customers in the group on either day (the sum of the table)."""
        return sum(t.customers for t in self.transitions)

    def states(self) -> list[tuple[str, ...]]:
        """Every state seen on either day: single segments in group order, then combinations,
        then none (always listed)."""
        seen = {t.from_state for t in self.transitions} | {t.to_state for t in self.transitions}
        singles = [(s,) for s in self.segments if (s,) in seen]
        combos = sorted(s for s in seen if len(s) > 1)
        return [*singles, *combos, ()]

    def totals(self) -> tuple[Counter, Counter]:
        """Customers per state on the first day and on the second."""
        before, after = Counter(), Counter()
        for t in self.transitions:
            before[t.from_state] += t.customers
            after[t.to_state] += t.customers
        return before, after

    def as_dict(self) -> dict:
        before, after = self.totals()
        return {
            "group": self.group, "segments": list(self.segments), "from": self.start.isoformat(),
            "to": self.end.isoformat(), "customers": self.customers,
            "overlaps": "combined",
            "states": [{"state": list(s), "label": state_label(s), "from_customers": before[s],
                        "to_customers": after[s]} for s in self.states()],
            "transitions": [t.as_dict() for t in self.transitions],
        }


@membership.read_consistently
def journey_report(conn: psycopg.Connection, group_id: str, start: dt.date,
                   end: dt.date) -> JourneyReport:
    """The transition table of a group's customers between the ends of `start` and `end`."""
    check_period(start, end, max_months=None)
    segments = membership.resolve_group(conn, group_id)
    membership.require_history(conn, segments, start, end)
    by_ord = {s.ordinal: s.id for s in segments}
    sql = _JOURNEY.format(members_on=MEMBERS_ON,
                          members_after=members_on_sql("after"))
    rows = conn.execute(sql, {"ords": list(by_ord), "until": start, "after": end}).fetchall()
    order = {s.id: i for i, s in enumerate(segments)}

    def state(ords: list[int]) -> tuple[str, ...]:
        return tuple(sorted((by_ord[o] for o in ords), key=order.__getitem__))

    transitions = [Transition(state(a), state(b), n) for a, b, n in rows]
    transitions.sort(key=lambda t: (-t.customers, t.from_state, t.to_state))
    return JourneyReport(group_id, tuple(s.id for s in segments), start, end, transitions)
