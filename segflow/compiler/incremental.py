"""Which parts of the compiled rules move with the calendar, and which only with the store data.

A customer's base facts and most aggregates (order count, "first order had X") change only when
their orders or customer row change; so do the segments whose rules read only those. Rules with
`today` in them (`days_since_last_order <= 30`, `orders[date >= today - 90d].count >= 2`) can
change for anybody on any day. The incremental run keeps the first kind in a persisted facts
table, updated only for changed customers, and re-evaluates only the second kind for everybody.

What moves is found by compiling the rules for two days far apart (the evaluation day and 397
days later) and comparing: every day a rule depends on is emitted as a literal, so a
calendar-dependent aggregate or predicate renders differently, a data-only one identically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlglot import exp

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.facts import COUNTED, FACTS, FLAGS, ORDER, Aggregate, FactSet, facts_ctes
from segflow.compiler.project import Project
from segflow.compiler.query import CompiledProject, compile_project, render

PROBE_DAYS = 397  # far enough that any `today`-relative day differs, months and years included
PREV = "p_"  # prefix of the previous day's copies of moving aggregates
SIGNATURE_DAY = dt.date(2000, 1, 1)  # the day the facts' SQL is rendered for in its signature


def _sql(e: exp.Expression) -> str:
    return e.sql(dialect="postgres")


@dataclass(frozen=True)
class DaySplit:
    """The rules compiled for one day, split into data-only and calendar-dependent parts."""

    compiled: CompiledProject
    stable_aggregates: frozenset[str]
    moving_aggregates: frozenset[str]
    moving_segments: frozenset[str]
    probe: CompiledProject  # the rules compiled for a day far from this one

    @property
    def evaluation(self) -> Evaluation:
        return self.compiled.evaluation

    def signature(self) -> str:
        """Identifies the persisted facts: the whole SQL that computes them (base facts, which
        orders count, customer columns, aggregates, line flags), rendered for a fixed day in the
        store's zone so that only a change of meaning, not of day, changes it."""
        reference = Evaluation(SIGNATURE_DAY, self.evaluation.timezone)
        text = _sql(_query(facts_ctes(self._facts(self.stable_aggregates), reference)))
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def _facts(self, aggregates: frozenset[str]) -> FactSet:
        f = self.compiled.facts
        return FactSet(set(f.customer_columns), {n: f.aggregates[n] for n in sorted(aggregates)},
                       dict(f.line_flags))

    def stable_query(self, customers: exp.Expression | None = None) -> exp.Select:
        """The persisted facts (base facts, customer columns, data-only aggregates).

        `customers`: a subquery of customer ids to restrict the computation to.
        """
        return _query(facts_ctes(self._facts(self.stable_aggregates), self.evaluation, customers))

    def day_relation(self, facts_table: str, previous: DaySplit | None = None,
                     customers: exp.Expression | None = None) -> exp.Select:
        """The persisted facts plus the calendar-dependent aggregates of this day (and, prefixed,
        of `previous`'s day): the relation the predicates read, as alias `f`.

        `customers`: a subquery of customer ids to restrict it to.
        """
        f = exp.to_table(facts_table).as_(FACTS)
        query = exp.select(exp.column(exp.Star(), FACTS)).from_(f)
        moving = self._moving(previous)
        if moving:
            scan = self._moving_scan(moving, customers)
            query = query.select(*(
                exp.alias_(exp.Coalesce(this=exp.column(n, "m"), expressions=[a.default.copy()])
                           if a.default is not None else exp.column(n, "m"), n, copy=False)
                for n, a in sorted(moving.items())
            ), copy=False).join(
                exp.Subquery(this=scan, alias=exp.TableAlias(this=exp.to_identifier("m"))),
                on=exp.column("customer_id", "m").eq(exp.column("customer_id", FACTS)),
                join_type="left", copy=False)
        if customers is not None:
            query = query.where(exp.column("customer_id", FACTS).isin(query=customers.copy()),
                                copy=False)
        return query

    def _moving(self, previous: DaySplit | None) -> dict[str, Aggregate]:
        aggs = self.compiled.facts.aggregates
        out = {n: aggs[n] for n in sorted(self.moving_aggregates)}
        if previous is not None:
            for name in sorted(previous.moving_aggregates):
                agg = previous.compiled.facts.aggregates[name]
                out[PREV + name] = dataclasses.replace(agg, name=PREV + name)
        return out

    def _moving_scan(self, moving: dict[str, Aggregate],
                     customers: exp.Expression | None) -> exp.Select:
        """One GROUP BY over the orders computing just the moving aggregates.

        When every one of them ignores orders placed before some day (`orders[date >= ...]`),
        only orders from the earliest such day on are read (an index range on placed_at).
        """
        flags = {n: c for n, c in self.compiled.facts.line_flags.items()
                 if any(col.table == FLAGS and col.name == n
                        for a in moving.values() for col in a.expression.find_all(exp.Column))}
        bound = _earliest_bound(list(moving.values()))
        ctes = dict(facts_ctes(FactSet(set(), dict(moving), flags), self.evaluation, customers,
                               bound))
        # cancelled_orders[...] (nth) or line-item aggregates (sets.py): `order_facts` alone
        # does not hold them, so read the whole facts relation
        if "line_facts" in ctes or any(a.over != COUNTED for a in moving.values()):
            return _facts_scan(ctes, moving)
        scan = ctes["order_facts"].select(exp.column("customer_id", ORDER),
                                          *(exp.alias_(a.expression.copy(), n, copy=False)
                                            for n, a in moving.items()),
                                          append=False, copy=False)
        for name in ("counted_orders", "line_flags"):
            if name in ctes:
                scan = scan.with_(name, as_=ctes[name], copy=False)
        return scan

    def predicate(self, segment_id: str) -> exp.Expression:
        return self.compiled.predicates[segment_id]

    def previous_predicate(self, segment_id: str) -> exp.Expression:
        """The predicate reading the `PREV`-prefixed aggregate columns."""
        renames = self.moving_aggregates

        def rename(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.table == FACTS and node.name in renames:
                return exp.column(PREV + node.name, FACTS)
            return node

        return self.compiled.predicates[segment_id].transform(rename)


@dataclass(frozen=True)
class Flips:
    """How to find the customers whose calendar-dependent segments may flip from `previous`'s
    day to this one, without computing every customer's moving aggregates.

    - `windows`: (from, to) instants; a moving aggregate whose only calendar dependence is its
      `placed_at >= <day>` bound changes only for customers with an order between its bound on
      the two days;
    - `segments`: predicates with calendar literals of their own, over the persisted facts only;
      they are re-checked for everybody, on the facts table alone.
    """

    windows: list[tuple[exp.Expression, exp.Expression]]
    segments: list[str]


def flips(current: DaySplit, previous: DaySplit, segment_ids: list[str]) -> Flips | None:
    """The cheap way to find flips, or None when only the full comparison is safe."""
    cur = [current.compiled.facts.aggregates[n] for n in current.compiled.facts.aggregates
           if n in current.moving_aggregates]
    old = [previous.compiled.facts.aggregates[n] for n in previous.compiled.facts.aggregates
           if n in previous.moving_aggregates]
    if len(cur) != len(old):
        return None
    windows = []
    for a, b in zip(cur, old, strict=True):
        ba, bb = _bound(a), _bound(b)
        if ba is None or bb is None or _without(a.expression, ba[1]) != _without(b.expression,
                                                                                  bb[1]):
            return None
        lo, hi = sorted([ba, bb], key=lambda x: x[0])
        if lo[0] != hi[0]:
            windows.append((lo[1].copy(), hi[1].copy()))
    moving_cols = current.moving_aggregates | previous.moving_aggregates
    segments = []
    for sid in segment_ids:
        if sid not in current.moving_segments:
            continue
        mine, theirs = current.predicate(sid), previous.predicate(sid)
        if _masked(mine, moving_cols) == _masked(theirs, moving_cols):
            continue  # only its aggregates move: covered by `windows`
        if any(c.table == FACTS and c.name in moving_cols for c in mine.find_all(exp.Column)):
            return None
        segments.append(sid)
    return Flips(windows, segments)


def _without(e: exp.Expression, literal: exp.Expression) -> str:
    """SQL of `e` with one literal replaced by a placeholder."""
    return _sql(e.transform(lambda n: exp.Placeholder() if n == literal else n))


def _masked(e: exp.Expression, columns: frozenset[str]) -> str:
    """SQL of a predicate with its moving-aggregate columns replaced by one placeholder."""
    return _sql(e.transform(
        lambda n: exp.Placeholder() if isinstance(n, exp.Column) and n.table == FACTS
        and n.name in columns else n))


def split(project: Project, ev: Evaluation, like: DaySplit | None = None) -> DaySplit:
    """`like`: a split of the same project for another day, whose classification is reused
    (a data-only aggregate has the same SQL, so the same name, on every day)."""
    compiled = compile_project(project, ev)
    mine = compiled.facts.aggregates
    if like is not None:
        stable = frozenset(n for n in mine if n in like.stable_aggregates)
        return DaySplit(compiled, stable, frozenset(mine) - stable, like.moving_segments,
                        like.probe)
    probe = compile_project(project, Evaluation(ev.as_of + dt.timedelta(days=PROBE_DAYS),
                                                ev.timezone))
    theirs = probe.facts.aggregates
    stable = frozenset(n for n, a in mine.items()
                       if n in theirs and _sql(a.expression) == _sql(theirs[n].expression))
    moving = frozenset(mine) - stable

    def reads_moving(pred: exp.Expression) -> bool:
        return any(c.table == FACTS and c.name in moving for c in pred.find_all(exp.Column))

    moving_segments = frozenset(
        sid for sid, pred in compiled.predicates.items()
        if reads_moving(pred) or render(pred, pretty=False) != render(probe.predicates[sid],
                                                                     pretty=False)
    )
    return DaySplit(compiled, stable, moving, moving_segments, probe)


def _facts_scan(ctes: dict[str, exp.Select], moving: dict[str, Aggregate]) -> exp.Select:
    """The moving aggregates read from the whole facts relation: for aggregates over more than
    the counted orders (the cancelled ones), which `order_facts` alone does not hold."""
    scan = exp.select(exp.column("customer_id", FACTS), *(exp.column(n, FACTS) for n in moving))
    scan = scan.from_(exp.to_table("facts").as_(FACTS), copy=False)
    for name, cte in ctes.items():
        scan = scan.with_(name, as_=cte, copy=False)
    return scan


def _query(ctes: list[tuple[str, exp.Select]]) -> exp.Select:
    query = exp.select("*").from_(exp.to_table("facts"))
    for name, cte in ctes:
        query = query.with_(name, as_=cte, copy=False)
    return query


def _earliest_bound(aggregates: list[Aggregate]) -> exp.Expression | None:
    """The earliest `placed_at >= <instant>` that every aggregate's rows must meet, if any.

    Only for `AGG(CASE WHEN ... THEN v [ELSE 0|NULL] END)` whose empty value is its default
    (SUM / COUNT with 0, MAX / MIN with NULL), so leaving earlier orders out changes nothing.
    """
    bounds: list[tuple[dt.datetime, exp.Expression]] = []
    for agg in aggregates:
        bound = _bound(agg)
        if bound is None:
            return None
        bounds.append(bound)
    return min(bounds, key=lambda b: b[0])[1].copy() if bounds else None


def _bound(agg: Aggregate) -> tuple[dt.datetime, exp.Expression] | None:
    e = agg.expression
    case = e.this if isinstance(e, exp.Sum | exp.Count | exp.Max | exp.Min) else None
    if not isinstance(case, exp.Case) or len(case.args.get("ifs") or []) != 1:
        return None
    default = case.args.get("default")
    if isinstance(e, exp.Sum):
        ok = (default is None or _is_zero(default)) and agg.default is not None \
            and _is_zero(agg.default)
    elif isinstance(e, exp.Count):
        ok = default is None
    else:
        ok = default is None and agg.default is None
    if not ok:
        return None
    cond = case.args["ifs"][0].this
    for term in cond.flatten() if isinstance(cond, exp.And) else [cond]:
        if (isinstance(term, exp.GTE) and isinstance(term.this, exp.Column)
                and term.this.table == ORDER and term.this.name == "placed_at"
                and isinstance(term.expression, exp.Cast)
                and isinstance(term.expression.this, exp.Literal)):
            try:
                instant = dt.datetime.fromisoformat(term.expression.this.this)
            except ValueError:
                return None
            return instant, term.expression
    return None


def _is_zero(e: exp.Expression) -> bool:
    return isinstance(e, exp.Literal) and e.this == "0"
