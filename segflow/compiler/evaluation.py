"""The day a rule is evaluated for, and how days become absolute cut-offs.

Rules are evaluated as of a day in the store's time zone. Every day in a rule (`today`, a literal,
`today - 30d`) is turned into the absolute instant that day starts at in that zone and emitted
as a literal constant; order timestamps are then compared with constants, never converted row by
row (cheaper, and exact across daylight-saving changes).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from segflow.dsl import ast
from segflow.errors import SegflowError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SegflowError(
            f"unknown time zone '{name}' (use an IANA name such as 'America/Toronto' or 'UTC')"
        ) from None


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months; the day is clamped to the month's end (2024-03-31 - 1m = 2024-02-29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@lru_cache(maxsize=4096)
def _day_start_text(day: dt.date, timezone: str) -> str:
    return dt.datetime.combine(day, dt.time(), zone(timezone)).isoformat(sep=" ")


@dataclass(frozen=True)
class Evaluation:
    """Evaluate as of the end of `as_of` in the store's time zone."""

    as_of: dt.date
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        zone(self.timezone)

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), zone(self.timezone))

    def day_start_literal(self, day: dt.date) -> exp.Expression:
        """The instant `day` starts at in the store's zone, as a TIMESTAMPTZ literal."""
        text = _day_start_text(day, self.timezone)
        return exp.Cast(this=exp.Literal(this=text, is_string=True),
                        to=exp.DataType(this=exp.DataType.Type.TIMESTAMPTZ, nested=False))

    @property
    def cutoff(self) -> exp.Expression:
        """Orders placed before this instant count: the start of the day after `as_of`."""
        return self.day_start_literal(self.as_of + dt.timedelta(days=1))

    def resolve(self, value: ast.DateValue) -> dt.date:
        """The calendar day a date expression denotes."""
        match value:
            case ast.DateLit(value=day):
                return day
            case ast.Today():
                return self.as_of
            case ast.DateOffset(base=base, sign=sign, duration=duration):
                day = self.resolve(base)
                n = duration.amount if sign == "+" else -duration.amount
                try:
                    match duration.unit:
                        case "d":
                            return day + dt.timedelta(days=n)
                        case "w":
                            return day + dt.timedelta(weeks=n)
                        case "m":
                            return add_months(day, n)
                        case _:
                            return add_months(day, 12 * n)
                except OverflowError:
                    raise SegflowError("date out of range (years 1 to 9999)") from None
        raise TypeError(value)  # pragma: no cover
