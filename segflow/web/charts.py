"""Charts as server-side SVG: no JavaScript library, nothing fetched, identical in the static site.

Each recorded day is one mark carrying `data-day` / `data-value` (and a tooltip); backfilled days
are drawn distinctly (class `b`: hollow points, dashed line, lighter bars, a shaded band). In a
bar chart a day whose figure is not known (None: no membership history that day) is a hatched
full-height mark (class `none`), never a zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 170
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 12, 24


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float | None
    backfilled: bool = False


Formatter = Callable[[float | None], str]


class _Frame:
    """Maps days and values to pixels."""

    def __init__(self, points: Sequence[Point], lo: float, hi: float):
        self.first = points[0].day
        self.span = max((points[-1].day - self.first).days, 1)
        self.single = len(points) == 1
        self.lo, self.hi = lo, hi if hi > lo else lo + 1

    def x(self, day: dt.date) -> float:
        width = WIDTH - LEFT - RIGHT
        if self.single:
            return LEFT + width / 2
        return LEFT + (day - self.first).days / self.span * width

    def y(self, value: float) -> float:
        height = HEIGHT - TOP - BOTTOM
        return TOP + (1 - (value - self.lo) / (self.hi - self.lo)) * height

    def day_width(self) -> float:
        return (WIDTH - LEFT - RIGHT) / (self.span + 1)


def _axes(frame: _Frame, points: Sequence[Point], fmt: Formatter) -> list[str]:
    out = []
    for v in (frame.lo, (frame.lo + frame.hi) / 2, frame.hi):
        y = frame.y(v)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="ylab" x="{LEFT - 6}" y="{y + 4:.1f}">{escape(fmt(v))}</text>')
    days = [points[0].day] if len(points) == 1 else [points[0].day, points[-1].day]
    for i, day in enumerate(days):
        anchor = "start" if i == 0 and len(days) > 1 else "end" if i else "middle"
        out.append(f'<text class="xlab" text-anchor="{anchor}" x="{frame.x(day):.1f}" '
                   f'y="{HEIGHT - 6}">{day.isoformat()}</text>')
    out += _month_ticks(frame, points[0].day, points[-1].day)
    return out


def _month_ticks(frame: _Frame, first: dt.date, last: dt.date) -> list[str]:
    """Over two months or more: a faint line and the month's name at each first of the month."""
    if (last - first).days < 60:
        return []
    out = []
    month = dt.date(first.year, first.month, 1)
    clear = 70  # pixels kept free beside the first / last day labels
    while True:
        month = (month + dt.timedelta(days=32)).replace(day=1)
        x = frame.x(month)
        if x > frame.x(last) - clear:
            return out
        if x < frame.x(first) + clear:
            continue
        out.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
                   f'y2="{HEIGHT - BOTTOM}"/><text class="xlab" text-anchor="middle" '
                   f'x="{x:.1f}" y="{HEIGHT - 6}">{month.strftime("%b")}</text>')


def _bands(frame: _Frame, points: Sequence[Point]) -> list[str]:
    """A shaded band over each run of backfilled days, with a legend when there is any."""
    out, run = [], []
    for p in [*points, None]:
        if p is not None and p.backfilled:
            run.append(p)
            continue
        if run:
            half = frame.day_width() / 2
            x0, x1 = frame.x(run[0].day) - half, frame.x(run[-1].day) + half
            out.append(f'<rect class="band" x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" '
                       f'height="{HEIGHT - TOP - BOTTOM}"/>')
            run = []
    if out:
        out.append(_legend(0, "shaded: backfilled days"))
    return out


def _legend(line: int, text: str) -> str:
    return f'<text class="legend" x="{WIDTH - RIGHT}" y="{TOP + 10 + 12 * line}">{text}</text>'


def _svg(key: str, label: str, body: list[str], kind: str) -> Markup:
    return Markup(
        f'<svg class="chart {kind}" data-chart="{escape(key)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body) + "</svg>"
    )


def _mark_attrs(p: Point, fmt: Formatter) -> tuple[str, str]:
    cls = " b" if p.backfilled else ""
    note = " (backfilled)" if p.backfilled else ""
    title = f"<title>{p.day.isoformat()}: {escape(fmt(p.value))}{note}</title>"
    return cls, f'data-day="{p.day.isoformat()}" data-value="{p.value}">{title}'


def line_chart(key: str, label: str, points: Sequence[Point], fmt: Formatter) -> Markup:
    """A daily line: one point per recorded day with a figure."""
    shown = [(p, p.value) for p in points if p.value is not None]
    if not shown:
        return Markup('<p class="empty">No figures recorded yet.</p>')
    lo, hi = min(v for _, v in shown), max(v for _, v in shown)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1
    top = min(hi + pad, 1.0) if key.endswith("_rate") and hi <= 1 else hi + pad  # no 105%
    frame = _Frame(points, max(lo - pad, 0) if lo >= 0 else lo - pad, top)
    body = [*_bands(frame, points), *_axes(frame, points, fmt)]
    real, backfilled = [], []
    for (a, av), (b, bv) in pairwise(shown):
        target = backfilled if (a.backfilled or b.backfilled) else real
        target.append(f"M{frame.x(a.day):.1f},{frame.y(av):.1f}"
                      f"L{frame.x(b.day):.1f},{frame.y(bv):.1f}")
    if real:
        body.append(f'<path class="line" d="{"".join(real)}"/>')
    if backfilled:
        body.append(f'<path class="line b" d="{"".join(backfilled)}"/>')
    for p, v in shown:
        cls, rest = _mark_attrs(p, fmt)
        body.append(f'<circle class="pt{cls}" cx="{frame.x(p.day):.1f}" '
                    f'cy="{frame.y(v):.1f}" r="2.5" {rest}</circle>')
    return _svg(key, label, body, "line")


def bar_chart(key: str, label: str, points: Sequence[Point], fmt: Formatter,
              unknown: str = "no membership history") -> Markup:
    """Daily bars from zero: one bar per day; a day without a figure is marked `unknown`."""
    if not points:
        return Markup('<p class="empty">No activity recorded yet.</p>')
    hi = max((p.value or 0) for p in points)
    frame = _Frame(points, 0, hi * 1.08 if hi > 0 else 1)
    bands = _bands(frame, points)
    body = [*bands, *_axes(frame, points, fmt)]
    width = max(frame.day_width() * 0.8, 0.8)
    base = frame.y(0)
    if any(p.value is None for p in points):
        body.append(_legend(1 if bands else 0, f"tinted: {escape(unknown)}"))
    for p in points:
        if p.value is None:
            body.append(f'<rect class="bar none" x="{frame.x(p.day) - width / 2:.1f}" y="{TOP}" '
                        f'width="{width:.2f}" height="{base - TOP:.1f}" '
                        f'data-day="{p.day.isoformat()}" data-value="">'
                        f"<title>{p.day.isoformat()}: {escape(unknown)}</title></rect>")
            continue
        top = frame.y(p.value)
        cls, rest = _mark_attrs(p, fmt)
        body.append(f'<rect class="bar{cls}" x="{frame.x(p.day) - width / 2:.1f}" y="{top:.1f}" '
                    f'width="{width:.2f}" height="{max(base - top, 0.5):.1f}" {rest}</rect>')
    return _svg(key, label, body, "bars")
