"""Whole queries: one self-contained query per segment, or every segment over shared facts.

SQL is built as sqlglot trees and rendered once, at the edge, in the requested dialect
(PostgreSQL today; the trees avoid PostgreSQL-only constructs where a portable one exists).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.facts import FACTS, FactSet, facts_ctes
from segflow.compiler.predicates import PredicateCompiler
from segflow.compiler.project import Project

DIALECT = "postgres"


def render(expression: exp.Expression, dialect: str = DIALECT, pretty: bool = True) -> str:
    """SQL text of a tree: deterministic and readable."""
    return expression.sql(dialect=dialect, pretty=pretty)


def _rules(project: Project) -> dict:
    return {s.id: s.rule for s in project.segments.values()}


def segment_query(project: Project, segment_id: str, ev: Evaluation) -> exp.Select:
    """One query returning the ids of the customers in a segment as of `ev.as_of`."""
    project.segment(segment_id)  # raises a clear error for an unknown id
    facts = FactSet()
    predicate = PredicateCompiler(ev, facts, _rules(project)).segment(segment_id).sql
    query = (
        exp.select(n.column("customer_id", FACTS))
        .from_(n.table("facts", FACTS), copy=False)
        .where(predicate, copy=False)
        .order_by(n.column("customer_id", FACTS), copy=False)
    )
    for name, cte in facts_ctes(facts, ev):
        query = query.with_(name, as_=cte, copy=False)
    return query


@dataclass(frozen=True)
class CompiledProject:
    """Every segment as a predicate over one shared facts relation (for the daily run)."""

    evaluation: Evaluation
    facts: FactSet
    predicates: dict[str, exp.Expression]  # segment id -> predicate over alias `f`

    def facts_query(self) -> exp.Select:
        """SELECT producing the facts relation (one row per customer)."""
        query = exp.select(exp.Star()).from_(n.table("facts"), copy=False)
        for name, cte in facts_ctes(self.facts, self.evaluation):
            query = query.with_(name, as_=cte, copy=False)
        return query


def compile_project(project: Project, ev: Evaluation) -> CompiledProject:
    facts = FactSet()
    compiler = PredicateCompiler(ev, facts, _rules(project))
    predicates = {s.id: compiler.segment(s.id).sql for s in project.in_dependency_order()}
    return CompiledProject(ev, facts, predicates)
