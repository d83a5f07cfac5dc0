"""Revenue tracking: orders and revenue from a segment's members over a period of up to a year.

Two ways to say who the members are:
- `daily`: an order counts when its customer was a member at the end of the order's day (the
  daily order activity's rule, over any past period, from the membership history);
- `start`: the members at the end of the first day form a fixed cohort, followed through the
  period whether or not they stay in the segment.

Days outside the segment's history (before its first recorded day, after the last run) are
reported as such, never as zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

import psycopg

from segflow.analytics import membership
from segflow.analytics.membership import SPELLS, HistoryWindow
from segflow.analytics.orders import COUNTED, ORDER_DAY, day_bounds
from segflow.compiler.evaluation import add_months
from segflow.errors import SegflowError

Cohort = Literal["daily", "start"]
COHORTS: tuple[Cohort, ...] = ("daily", "start")
History = Literal["recorded", "backfilled", "carried", "none"]


@dataclass(frozen=True)
class RevenueDay:
    day: dt.date
    history: History  # recorded that day (by a run or apply, or only by a backfill) / carried
    # from an earlier recorded day / not known
    members: int | None  # daily: members that day; start: cohort members still in the segment
    orders: int | None  # None: membership that day is not known (daily cohort)
    revenue: Decimal | None

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "history": self.history, "members": self.members,
                "orders": self.orders, "revenue": _money(self.revenue)}


@dataclass(frozen=True)
class RevenueReport:
    segment: str
    cohort: Cohort
    start: dt.date
    end: dt.date
    history: HistoryWindow
    cohort_size: int | None  # start cohort: members at the end of the first day
    orders: int  # totals over the days with a known membership
    revenue: Decimal
    buyers: int  # distinct customers behind those orders
    days: list[RevenueDay] = field(default_factory=list)

    @property
    def days_without_history(self) -> int:
        return sum(1 for d in self.days if d.orders is None)

    def notes(self) -> list[str]:
        """What a reader must know to trust the figures: days without history, days carried
        (one wording for the command and the dashboard)."""
        window, out = self.history, []
        if window.first is None:
            out.append("No membership history for this segment yet: nothing is counted.")
        elif self.days_without_history:
            out.append(f"No membership history on {self.days_without_history} of "
                       f"{len(self.days)} days (history covers {window.first} to {window.last}):"
                       " they show — and are left out of the total, not counted as zero.")
        elif self.cohort == "start" and any(d.history == "none" for d in self.days):
            out.append(f"History ends on {window.last}: later days count the cohort's orders but "
                       "cannot say who is still a member.")
        carried = sum(1 for d in self.days if d.history == "carried")
        if carried:
            out.append(f"{carried} day{'' if carried == 1 else 's'} had no run: membership "
                       "on them is carried from the last recorded day before.")
        return out

    def as_dict(self) -> dict:
        return {
            "segment": self.segment, "cohort": self.cohort, "from": self.start.isoformat(),
            "to": self.end.isoformat(), "history": self.history.as_dict(),
            "cohort_size": self.cohort_size,
            "total": {"orders": self.orders, "revenue": _money(self.revenue),
                      "buyers": self.buyers, "days": len(self.days),
                      "days_without_history": self.days_without_history},
            "days": [d.as_dict() for d in self.days],
        }


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def check_period(start: dt.date, end: dt.date, *, max_months: int | None = 12) -> None:
    """A period runs from `start` to `end` inclusive; revenue tracking allows at most a year."""
    if start > end:
        raise SegflowError(f"the period starts after it ends: --from {start} is after --to {end}")
    if max_months is not None and end >= add_months(start, max_months):
        raise SegflowError(
            f"the period {start} to {end} is longer than one year: --to must be before "
            f"{add_months(start, max_months)}")


# One statement for the whole period. {who}: the spells counted (daily: every spell; start:
# the spells of the cohort). {attributed}: which counted orders are the segment's.
_REPORT = """
WITH spells AS ({spells}),
cohort AS (
    SELECT DISTINCT customer_id FROM spells
    WHERE since <= %(since)s AND (until IS NULL OR until > %(since)s)
),
counted AS (
    SELECT o.customer_id, {order_day} AS day, o.net_amount
    FROM store.orders AS o
    WHERE {counted} AND o.placed_at >= %(start_at)s AND o.placed_at < %(end_at)s
),
attributed AS ({attributed}),
sales AS (SELECT day, count(*) AS orders, sum(net_amount) AS revenue FROM attributed GROUP BY day),
moves AS (
    SELECT day, sum(delta) AS delta FROM (
        SELECT greatest(since, %(since)s) AS day, 1 AS delta FROM ({who}) AS w
        UNION ALL
        SELECT until, -1 FROM ({who}) AS w WHERE until IS NOT NULL AND until <= %(until)s
    ) AS d GROUP BY day
)
SELECT g.day::date,
       sum(coalesce(m.delta, 0)) OVER (ORDER BY g.day)::bigint AS members,
       coalesce(s.orders, 0), coalesce(s.revenue, 0),
       (SELECT count(*) FROM cohort), (SELECT count(DISTINCT customer_id) FROM attributed)
FROM generate_series(%(since)s::date, %(until)s::date, interval '1 day') AS g(day)
LEFT JOIN moves AS m ON m.day = g.day::date
LEFT JOIN sales AS s ON s.day = g.day::date
ORDER BY 1
"""

_DAILY = dict(
    who="SELECT * FROM spells",
    attributed="SELECT c.customer_id, c.day, c.net_amount FROM counted AS c JOIN spells AS s"
               " ON s.customer_id = c.customer_id AND c.day >= s.since"
               " AND (s.until IS NULL OR c.day < s.until)"
               " AND c.day BETWEEN %(known_from)s AND %(known_to)s",
)
_START = dict(
    who="SELECT * FROM spells WHERE customer_id IN (SELECT customer_id FROM cohort)",
    attributed="SELECT c.customer_id, c.day, c.net_amount FROM counted AS c"
               " WHERE c.customer_id IN (SELECT customer_id FROM cohort)",
)


@membership.read_consistently
def revenue_report(conn: psycopg.Connection, segment_id: str, start: dt.date, end: dt.date, *,
                   cohort: Cohort = "daily", timezone: str = "UTC") -> RevenueReport:
    """Revenue and orders from a segment's members, day by day from `start` to `end`."""
    if cohort not in COHORTS:
        raise SegflowError(f"unknown cohort '{cohort}' (one of: {', '.join(COHORTS)})")
    check_period(start, end)
    (seg,) = membership.resolve_segments(conn, [segment_id])
    window = membership.history_windows(conn, [seg])[seg.id]
    if cohort == "start" and not window.covers(start):
        membership.require_history(conn, [seg], start)
    sql = _REPORT.format(spells=SPELLS, order_day=ORDER_DAY, counted=COUNTED,
                         **(_DAILY if cohort == "daily" else _START))
    params = {"ords": [seg.ordinal], "since": start, "until": end,
              "known_from": window.first, "known_to": window.last,
              **day_bounds(start, end, timezone)}
    rows = conn.execute(sql, params).fetchall()
    recorded = membership.recorded_days(conn, seg, start, end)
    days = [_day(row, window, recorded, cohort) for row in rows]
    known = [d for d in days if d.orders is not None]
    return RevenueReport(
        segment=seg.id, cohort=cohort, start=start, end=end, history=window,
        cohort_size=rows[0][4] if cohort == "start" and rows else None,
        orders=sum(d.orders or 0 for d in known),
        revenue=sum((d.revenue or Decimal(0) for d in known), Decimal(0)),
        buyers=rows[0][5] if rows else 0, days=days,
    )


def _day(row: tuple, window: HistoryWindow, recorded: dict[dt.date, bool],
         cohort: Cohort) -> RevenueDay:
    day, members, orders, revenue = row[:4]
    history: History = ("none" if not window.covers(day)
                        else "carried" if day not in recorded
                        else "backfilled" if recorded[day] else "recorded")
    if history == "none":
        members = None
        if cohort == "daily":
            orders = revenue = None
    return RevenueDay(day, history, members, orders, revenue)
