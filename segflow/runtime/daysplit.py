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
from segflow.compiler.facts import FACTS, FactSet, facts_ctes
from segflow.compiler.project import Project
from segflow.compiler.query import CompiledProject, compile_project, render

PROBE_DAYS = 397  # far enough that any `today`-relative day differs, months and years included
PREV = "p_"  # prefix of the previous day's copies of moving aggregates


def _sql(e: exp.Expression) -> str:
    return e.sql(dialect="postgres")


@dataclass(frozen=True)
class DaySplit:
    """The rules compiled for one day, split into data-only and calendar-dependent parts."""

    compiled: CompiledProject
    stable_aggregates: frozenset[str]
    moving_aggregates: frozenset[str]
    moving_segments: frozenset[str]

    @property
    def evaluation(self) -> Evaluation:
        return self.compiled.evaluation

    def signature(self) -> str:
        """Identifies the persisted facts' columns and how each is computed."""
        f = self.compiled.facts
        parts = sorted(f.customer_columns)
        parts += [f"{n}={_sql(f.aggregates[n].expression)}" for n in sorted(self.stable_aggregates)]
        parts += [f"{n}={_sql(c)}" for n, c in sorted(f.line_flags.items())]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]

    def _facts(self, aggregates: frozenset[str]) -> FactSet:
        f = self.compiled.facts
        return FactSet(set(f.customer_columns), {n: f.aggregates[n] for n in sorted(aggregates)},
                       dict(f.line_flags))

    def stable_query(self, customers: exp.Expression | None = None) -> exp.Select:
        """The persisted facts (base facts, customer columns, data-only aggregates).

        `customers`: a subquery of customer ids to restrict the computation to.
        """
        return _query(facts_ctes(self._facts(self.stable_aggregates), self.evaluation), customers)

    def moving_query(self, previous: DaySplit | None) -> exp.Select | None:
        """customer_id and the calendar-dependent aggregates, also as of `previous` (prefixed)."""
        if not self.moving_aggregates:
            return None
        facts = self._facts(self.moving_aggregates)
        if previous is not None:
            for name in sorted(previous.moving_aggregates):
                agg = previous.compiled.facts.aggregates[name]
                facts.aggregates[PREV + name] = dataclasses.replace(agg, name=PREV + name)
        query = _query(facts_ctes(facts, self.evaluation), None)
        columns = [exp.column("customer_id")] + [exp.column(n) for n in sorted(facts.aggregates)]
        return query.select(*columns, append=False)

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


def split(project: Project, ev: Evaluation) -> DaySplit:
    compiled = compile_project(project, ev)
    probe = compile_project(project, Evaluation(ev.as_of + dt.timedelta(days=PROBE_DAYS),
                                                ev.timezone))
    mine, theirs = compiled.facts.aggregates, probe.facts.aggregates
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
    return DaySplit(compiled, stable, moving, moving_segments)


def _query(ctes: list[tuple[str, exp.Select]], customers: exp.Expression | None) -> exp.Select:
    if customers is not None:
        ctes = [(name, _restrict(name, cte, customers)) for name, cte in ctes]
    query = exp.select("*").from_(exp.to_table("facts"))
    for name, cte in ctes:
        query = query.with_(name, as_=cte)
    return query


def _restrict(name: str, cte: exp.Select, customers: exp.Expression) -> exp.Select:
    """Narrow the facts CTEs of `facts_ctes` to some customers (each CTE's own driving table)."""
    if name == "order_facts":
        return cte.where(exp.column("customer_id", "o").isin(query=customers.copy()))
    if name == "facts":
        return cte.where(exp.column("customer_id", "c").isin(query=customers.copy()))
    if name == "line_flags":
        orders = (exp.select("order_id").from_("store.orders")
                  .where(exp.column("customer_id").isin(query=customers.copy())))
        return cte.where(exp.column("order_id", "l").isin(query=orders))
    raise AssertionError(f"unknown facts CTE {name}")
