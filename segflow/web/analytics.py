"""The segment-analytics sections: revenue tracking and features of a segment, journey and overlap
of a group. Each shows one report of `segflow.analytics` (no SQL here), run inside the
page's read-only transaction, in the generic shape that `sections/tables.html` draws.

Parameters come from the query string, named as the commands' options (`from`, `to`, `cohort`,
`top`, `date`). One that a report cannot honour (not a day, a period over a year, `from` after
`to`, a day outside the history) shows as a clear message inside its section, above the form to
correct it, and the page answers 400. The static report has no server to send a form to: it
shows the defaults and says which command gives others.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from segflow.analytics import membership
from segflow.analytics.features import features_report, features_reports
from segflow.analytics.journey import JourneyReport, journey_report, state_label
from segflow.analytics.overlap import overlap_report
from segflow.analytics.revenue import COHORTS, revenue_report
from segflow.errors import SegflowError
from segflow.web import charts, format
from segflow.web.view import BadRequest, View

DEFAULT_DAYS = 30  # revenue tracking's default period: the last 30 days of history
MATRIX_STATES = 8  # a journey with more states is listed one transition a row
MAX_ROWS = 50  # rows shown of a long transition or pair list; the command lists them all
TOP, MAX_TOP = 10, 100  # values per features list
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


@dataclass(frozen=True)
class Field:
    """A form field of a section: a query parameter."""

    name: str
    label: str
    kind: str | tuple[str, ...] = "date"  # an <input> type, or the choices of a <select>


def _form(fields: tuple[Field, ...], view: View, defaults: dict[str, str]) -> dict:
    """The section's form, showing what was asked (else the defaults), and the page's other
    parameters kept as hidden fields so that sending this form leaves other sections as they are."""
    names = {f.name for f in fields}
    return {"form": [(f.name, f.label, view.param(f.name) or defaults.get(f.name, ""), f.kind)
                     for f in fields],
            "hidden": [(k, v) for k, v in view.params.items() if k not in names]}


Provider = Callable[[psycopg.Connection, str, View], dict]
OPTION = re.compile(r"--(from|to|date|top|cohort)\b")


def _answers(*fields: Field) -> Callable[[Provider], Provider]:
    """A provider whose SegflowError becomes its section's message: a bad parameter (400, with
    the form as it was sent) or, with no parameter given, a state to explain (no history yet)."""

    def wrap(provide: Provider) -> Provider:
        @functools.wraps(provide)
        def provider(conn: psycopg.Connection, subject_id: str, view: View) -> dict:
            try:
                return provide(conn, subject_id, view)
            except SegflowError as exc:
                message = OPTION.sub(r"\1", exc.message)  # the parameters are named as options
                if any(view.param(f.name) for f in fields):
                    return {**_form(fields, view, {}), "error": message, "status": 400}
                return {"empty": message}

        return provider

    return wrap


def _day(view: View, name: str, default: dt.date | None) -> dt.date | None:
    """A day from the query string (YYYY-MM-DD), or `default` when not given."""
    raw = view.param(name).strip()
    if not raw:
        return default
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: '{raw}' is not a day (write it YYYY-MM-DD)") from None
    if not EARLIEST <= day <= LATEST:
        raise BadRequest(f"{name}: {day} is out of range ({EARLIEST} to {LATEST})")
    return day


def _tune(conn: psycopg.Connection) -> None:
    """The reports' own memory setting, for this page's transaction only (they set it themselves
    when they open their own; inside the page's they join it as it is)."""
    conn.execute("SELECT set_config('work_mem', %s, true)", (membership.WORK_MEM,))


def _window(conn: psycopg.Connection, segment_id: str) -> membership.HistoryWindow:
    (seg,) = membership.resolve_segments(conn, [segment_id])
    window = membership.history_windows(conn, [seg])[seg.id]
    if window.first is None or window.last is None:
        raise SegflowError("No membership history yet: it is recorded by the daily run "
                           "(`seg run`) or reproduced by `seg backfill`.")
    return window


def _static_note(default: str, command: str) -> str:
    return f"This static report shows {default}; for another, run `{command}`."


# ---- revenue tracking ---------------------------------------------------------------------

REVENUE_FIELDS = (Field("from", "From"), Field("to", "To"), Field("cohort", "Cohort", COHORTS))


@_answers(*REVENUE_FIELDS)
def revenue(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    """Revenue tracking over a period: a daily chart, the totals, the days in a table."""
    window = _window(conn, segment_id)
    assert window.first is not None and window.last is not None
    default_to = window.last
    default_from = max(window.first, default_to - dt.timedelta(days=DEFAULT_DAYS - 1))
    start, end = _day(view, "from", default_from), _day(view, "to", default_to)
    cohort = view.param("cohort") or "daily"
    assert start is not None and end is not None
    _tune(conn)
    report = revenue_report(conn, segment_id, start, end, cohort=cohort,  # type: ignore[arg-type]
                            timezone=view.timezone)
    who = ("an order counts when its customer was a member at the end of the order's day"
           if cohort == "daily" else f"the {report.cohort_size:,} members at the end of {start}, "
                                     "followed through the period")
    days = len(report.days)
    meta = [f"From {start} to {end} ({days} day{'' if days == 1 else 's'}), {cohort} cohort: "
            f"{who}."]
    meta.extend(report.notes())
    if report.days_without_history:
        meta.append("Days without history are tinted in the charts.")
    if view.static:
        meta.append(_static_note(f"the default period, the last {DEFAULT_DAYS} days of history",
                                 f"seg revenue {segment_id} --from D --to D [--cohort start]"))
    day_rows = [d.as_dict() for d in report.days]
    chart_list = [(format.LABELS[key], charts.bar_chart(
        f"revenue_{key}", format.LABELS[key],
        [charts.Point(d.day, None if getattr(d, key) is None else float(getattr(d, key)),
                      d.history == "backfilled") for d in report.days],
        lambda v, k=key: format.value(v, k))) for key in ("revenue", "orders")]
    total = report.as_dict()["total"]
    return {
        **_form(REVENUE_FIELDS, view, {"from": default_from.isoformat(),
                                       "to": default_to.isoformat(), "cohort": "daily"}),
        "meta": meta, "charts": chart_list,
        "tables": [
            {"title": "Totals", "compact": True, "columns": [
                ("orders", "Orders"), ("revenue", "Revenue"), ("buyers", "Buyers"),
                ("days", "Days"), ("days_without_history", "Days without history")],
             "rows": [total]},
            {"title": "Day by day", "details": True, "columns": [
                ("day", "Day"), ("history", "History"), ("members", "Members"),
                ("orders", "Orders"), ("revenue", "Revenue")], "rows": day_rows,
             "note": "history: recorded by a run or an apply / backfilled only / carried from "
                     "the last recorded day / none (not known)."},
        ],
    }


# ---- features -----------------------------------------------------------------------------

FEATURE_LISTS = {  # list -> (title, what a value is)
    "products": ("Most purchased products", "Product"),
    "first_products": ("Most popular first-purchase products", "Product"),
    "channels": ("Order channels", "Channel"),
    "utm_sources": ("UTM sources", "UTM source"),
    "utm_campaigns": ("UTM campaigns", "UTM campaign"),
}
FEATURE_COLUMNS = [("members", "Members"), ("member_share", "% of members"),
                   ("orders", "Their orders"), ("customers", "All customers"),
                   ("customer_share", "% of all customers"), ("lift", "Lift")]
FEATURE_FIELDS = (Field("top", "Values per list", "number"), Field("date", "On"))


@_answers(*FEATURE_FIELDS)
def features(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    """The features lists with shares and lift."""
    raw_top = view.param("top").strip() or str(TOP)
    if not raw_top.isdigit() or not 1 <= int(raw_top) <= MAX_TOP:
        raise BadRequest(f"top: '{raw_top}' is not a whole number from 1 to {MAX_TOP}")
    day = _day(view, "date", None)
    _tune(conn)
    report = (view.features_of or {}).get(segment_id) if view.static else None
    if report is None:
        report = features_report(conn, segment_id, day=day, top=int(raw_top),
                                 timezone=view.timezone)
    meta = [f"The {report.members:,} members at the end of {report.day} and their counted orders "
            f"placed by then, against all {report.customers:,} customers of the store. Share: of "
            "the members / of all customers with at least one such order; lift: the members' "
            "share over all customers' share (above 1: more common among the members)."]
    if view.static:
        meta.append(_static_note(f"the top {TOP} on the last recorded day",
                                 f"seg features {segment_id} --top N --date D"))
    tables = [{"title": title, "columns": [("value", what), *FEATURE_COLUMNS],
               "rows": [f.as_dict() for f in report.lists.get(key, [])]}
              for key, (title, what) in FEATURE_LISTS.items()]
    return {**_form(FEATURE_FIELDS, view, {"top": str(TOP), "date": report.day.isoformat()}),
            "meta": meta, "tables": tables}


def all_features(conn: psycopg.Connection, segment_ids: list[str], view: View) -> dict:
    """The static report's features of every segment at once (one read of the store's orders
    instead of one a segment); a segment left out computes its own, and says why if it can't."""
    _tune(conn)
    try:
        return features_reports(conn, segment_ids, top=TOP, timezone=view.timezone)
    except SegflowError:  # no daily run yet: each page explains it in place
        return {}


def features_on_request(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    """On the live segment page, a link to the features: they read every order line of the
    store, too slow for the page's budget on a large store. The static report has them inline."""
    if view.static and not view.features:
        return {"meta": [f"Left out of this report (`seg report --no-features`); "
                         f"`seg features {segment_id}` computes them."]}
    if view.static:
        return features(conn, segment_id, view)
    return {"meta": ["The most purchased products, order channels, UTM sources and campaigns and "
                     "first-purchase products of the members, with their lift against all "
                     "customers. They read every order of the store, so they are computed on "
                     "request."],
            "link": (f"{segment_id}/features.html", "Compute features")}


# ---- journey ------------------------------------------------------------------------------

JOURNEY_FIELDS = (Field("from", "From"), Field("to", "To"))
COUNTING = ("A customer's state on a day is the set of the group's segments they are in. A "
            "customer in several of them is counted once, in the combined state (a + b), not once "
            "per segment nor by a priority; (none): in none of the group's segments. Every "
            "customer in the group on either day is in exactly one cell, so the cells add up to "
            "them; customers in the group on neither day are not counted.")


@_answers(*JOURNEY_FIELDS)
def journey(conn: psycopg.Connection, group_id: str, view: View) -> dict:
    """The transition table between two days: a matrix, or with many states one row each."""
    segments = membership.resolve_group(conn, group_id)
    windows = membership.history_windows(conn, segments)
    missing = [s.id for s in segments if windows[s.id].first is None]
    if missing:
        raise SegflowError(f"No membership history yet for {', '.join(missing)}: it is recorded "
                           "by the daily run (`seg run`).")
    default_from = max(w.first for w in windows.values() if w.first)  # all segments known
    default_to = max(w.last for w in windows.values() if w.last)
    start, end = _day(view, "from", default_from), _day(view, "to", default_to)
    assert start is not None and end is not None
    _tune(conn)
    report = journey_report(conn, group_id, start, end)
    meta = [f"From the end of {start} to the end of {end}: {report.customers:,} customers were "
            f"in the group on either day.", COUNTING]
    if view.static:
        meta.append(_static_note("the group's first and last recorded days",
                                 f"seg journey {group_id} --from D1 --to D2"))
    many = len(report.states()) > MATRIX_STATES
    return {**_form(JOURNEY_FIELDS, view, {"from": default_from.isoformat(),
                                           "to": default_to.isoformat()}),
            "meta": meta, "tables": _transitions(report) if many else [_matrix(report)]}


def _matrix(report: JourneyReport) -> dict:
    """Rows: the states on the first day; columns: on the second; with totals."""
    states, (before, after) = report.states(), report.totals()
    columns = [(f"s{i}", b) for i, b in enumerate(states)]  # not labels: "total" is a name
    cells = {(t.from_state, t.to_state): t.customers for t in report.transitions}
    rows = [{"state": state_label(a), **{k: cells.get((a, b), 0) for k, b in columns},
             "total": before[a]} for a in states]
    rows.append({"state": "total", **{k: after[b] for k, b in columns},
                 "total": report.customers})
    return {"title": f"Rows: state on {report.start}; columns: state on {report.end}",
            "row_header": True, "rows": rows,
            "columns": [("state", f"{report.start} \u2192 {report.end}"),
                        *((k, state_label(b)) for k, b in columns), ("total", "Total")]}


def _transitions(report: JourneyReport) -> list[dict]:
    """Too many states for a matrix: the customers per state, then one transition a row."""
    states, (before, after) = report.states(), report.totals()
    start, end = report.start, report.end
    rows = [{"from": state_label(t.from_state), "to": state_label(t.to_state),
             "customers": t.customers, "from_share": t.customers / before[t.from_state]}
            for t in report.transitions]
    command = f"seg journey {report.group} --from {start} --to {end} --format"
    largest = sorted(states, key=lambda s: -max(before[s], after[s]))  # stable: group order
    return [
        {"title": "Customers per state, largest first", "compact": True, "row_header": True,
         "columns": [("state", "State"), ("before", f"On {start}"), ("after", f"On {end}")],
         "rows": [{"state": state_label(s), "before": before[s], "after": after[s]}
                  for s in largest[:MAX_ROWS]],
         "note": _more(len(states), "states", f"{command} json")},
        {"title": f"{len(states)} states, one transition a row, largest first",
         "columns": [("from", f"On {start}"), ("to", f"On {end}"), ("customers", "Customers"),
                     ("from_share", f"% of the state on {start}")],
         "rows": rows[:MAX_ROWS], "note": _more(len(rows), "transitions", f"{command} csv")},
    ]


def _more(total: int, what: str, command: str) -> str:
    if total <= MAX_ROWS:
        return ""
    return f"The first {MAX_ROWS} of {total:,} {what}; all of them: `{command}`."


# ---- overlap ------------------------------------------------------------------------------

OVERLAP_FIELDS = (Field("date", "On"),)


@_answers(*OVERLAP_FIELDS)
def overlap(conn: psycopg.Connection, group_id: str, view: View) -> dict:
    """Members shared by each pair of the group's segments, with the Jaccard index."""
    ids = [s.id for s in membership.resolve_group(conn, group_id)]
    if len(ids) < 2:
        return {"empty": f"The group has one segment ({ids[0]}): no pair to compare."}
    day = _day(view, "date", None)
    _tune(conn)
    report = overlap_report(conn, ids, day=day)
    pairs = sorted(report.pairs, key=lambda p: (-(p.jaccard or 0), -p.both, p.a, p.b))
    rows = [p.as_dict() for p in pairs]
    disjoint = sum(1 for p in pairs if not p.both)
    meta = [f"Members at the end of {report.day}, pair by pair, most alike first: both = members "
            "of the two segments, either = members of one or the other, Jaccard = both / either "
            "(1: the same members, 0: none shared)."
            + (f" {disjoint} of the {len(pairs)} pairs share no member." if disjoint else "")]
    if view.static:
        meta.append(_static_note("the last recorded day",
                                 f"seg overlap {' '.join(ids)} --date D"))
    table = {"columns": [("a", "Segment"), ("a_members", "Members"), ("b", "and segment"),
                         ("b_members", "Members"), ("both", "Both"), ("union", "Either"),
                         ("jaccard", "Jaccard")],
             "rows": rows[:MAX_ROWS],
             "note": _more(len(rows), "pairs", f"seg overlap {' '.join(ids)} --date {report.day}")}
    return {**_form(OVERLAP_FIELDS, view, {"date": report.day.isoformat()}),
            "meta": meta, "tables": [table]}


# ---- entered / left on a day --------------------------------------------------------------

CHANGES_FIELDS = (Field("day", "On"),)
CUSTOMER_COLUMNS = [("customer_id", "Customer"), ("email", "Email"), ("first_name", "First name"),
                    ("last_name", "Last name"), ("province", "Province"), ("country", "Country")]


@_answers(*CHANGES_FIELDS)
def changes(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    """Who entered and who left the segment on a day (default: the last recorded), from the
    recorded membership events."""
    from segflow.analytics import reports

    day, rows = reports.changes(conn, segment_id, _day(view, "day", None))
    entered = [r for r in rows if r["change"] == "entered"]
    left = [r for r in rows if r["change"] == "left"]
    command = f"seg changes {segment_id} --date {day}"
    meta = [f"On {day}: {len(entered):,} entered, {len(left):,} left"
            + ("" if rows else " (no one entered or left that day)") + "."]
    if view.static:
        meta.append(_static_note("the last recorded day", f"seg changes {segment_id} --date D"))
    out = {**_form(CHANGES_FIELDS, view, {"day": day.isoformat()}), "meta": meta}
    if not view.members:
        meta.append("Customer details are left out of this report.")
        return out
    out["tables"] = [
        {"title": f"{title} ({len(part):,})", "columns": CUSTOMER_COLUMNS,
         "rows": part[:MAX_ROWS], "note": _more(len(part), "customers", command)}
        for title, part in (("Entered", entered), ("Left", left)) if part]
    return out
