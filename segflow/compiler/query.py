"""Whole queries: one self-contained query per segment, or every segment over shared facts.

SQL is built as sqlglot trees and rendered once, at the edge, in the requested dialect
(PostgreSQL today; the trees avoid PostgreSQL-only constructs where a portable one exists).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.facts import FACTS, FactSet, facts_ctes
from segflow.compiler.predicates import PredicateCompiler
from segflow.compiler.project import Project, Segment, gc_paused
from segflow.errors import Diagnostic, SegflowError

DIALECT = "postgres"


def render(expression: exp.Expression, dialect: str = DIALECT, pretty: bool = True) -> str:
    """SQL text of a tree: deterministic and readable."""
    return expression.sql(dialect=dialect, pretty=pretty)


class _Rules(Mapping):
    """Segment id -> rule, read from the project on demand (not copied for every query)."""

    def __init__(self, project: Project):
        self._segments = project.segments

    def __getitem__(self, segment_id: str):
        return self._segments[segment_id].rule

    def __iter__(self):
        return iter(self._segments)

    def __len__(self) -> int:
        return len(self._segments)


def _rules(project: Project) -> Mapping:
    return _Rules(project)


def segment_query(project: Project, segment_id: str, ev: Evaluation) -> exp.Select:
    """One query returning the ids of the customers in a segment as of `ev.as_of`."""
    segment = project.segment(segment_id)  # raises a clear error for an unknown id
    facts = FactSet()
    compiler = PredicateCompiler(ev, facts, _rules(project))
    try:
        predicate = compiler.segment(segment_id).sql
    except SegflowError as exc:
        raise SegflowError(_located(project, segment, exc)) from None
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
    """Every segment over shared facts; raises with every segment that cannot be compiled."""
    compiled, problems = compile_checked(project, ev)
    if problems:
        raise SegflowError(problems)
    return compiled


def compile_checked(project: Project, ev: Evaluation) -> tuple[CompiledProject, list[Diagnostic]]:
    """Compile every segment it can; the problems of the others, located in their files.

    A segment that refers to one that failed is skipped: its problem is the other's.
    """
    facts = FactSet()
    compiler = PredicateCompiler(ev, facts, _rules(project))
    predicates: dict[str, exp.Expression] = {}
    problems: list[Diagnostic] = []
    failed: set[str] = set()
    with gc_paused():
        for seg in project.in_dependency_order():
            if failed.intersection(seg.depends_on):
                failed.add(seg.id)
                continue
            try:
                predicates[seg.id] = compiler.segment(seg.id).sql
            except SegflowError as exc:
                failed.add(seg.id)
                problems += _located(project, seg, exc)
    return CompiledProject(ev, facts, predicates), problems


def _located(project: Project, segment: Segment, exc: SegflowError) -> list[Diagnostic]:
    """The compiler's diagnostics with the segment's file and source line filled in."""
    source = next((f for f in project.files if f.path == segment.path), None)
    out = []
    for d in exc.diagnostics:
        if d.file is None and d.line is not None:
            d = replace(d, file=segment.path, source_line=source.line(d.line) if source else None)
        out.append(d)
    return out
