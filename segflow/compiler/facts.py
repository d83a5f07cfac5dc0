"""Layer 1 of a compiled rule: per-customer facts, computed once for every segment.

A daily run evaluates 100+ segments. Scanning the orders once per segment would cost a full pass
each, so everything a rule needs from the orders is turned into a column of one per-customer
`facts` relation, computed in one pass over the orders (and one over the line items when a rule
reads them):

- base facts, always present: order count, total spent, first / last order instants, average
  order value, purchase interval;
- aggregate facts, one per distinct order condition any rule uses (`first_order.product = "X"`
  becomes `MAX(CASE WHEN <first order> AND <has X> THEN 1 ELSE 0 END)`); identical conditions in
  several segments share one column, named by a hash of its SQL;
- line flags: per order, whether some line item matches a line-level condition.

Segment predicates (layer 2, `predicates.py`) then read only this relation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.tables import CUSTOMERS, ORDER_LINES, ORDERS, counted_orders, table

FACTS = "f"  # alias of the facts relation in predicates
ORDER = "o"
LINE = "l"
FLAGS = "lf"
AGG = "a"


def _name(prefix: str, expression: exp.Expression) -> str:
    digest = hashlib.sha1(expression.sql(dialect="postgres").encode()).hexdigest()[:10]
    return f"{prefix}_{digest}"


@dataclass(frozen=True)
class Aggregate:
    name: str
    expression: exp.Expression  # aggregate over the orders (alias o) and line flags (alias lf)
    default: exp.Expression | None  # value for customers without orders (None: stays NULL)


@dataclass
class FactSet:
    """The facts a set of rules needs; shared by every segment evaluated together."""

    customer_columns: set[str] = field(default_factory=set)
    aggregates: dict[str, Aggregate] = field(default_factory=dict)
    line_flags: dict[str, exp.Expression] = field(default_factory=dict)

    def customer_column(self, column: str) -> exp.Column:
        self.customer_columns.add(column)
        return n.column(column, FACTS)

    def aggregate(self, expression: exp.Expression, default: exp.Expression | None) -> exp.Column:
        """Register an aggregate over orders; returns the facts column holding it."""
        name = _name("x", expression)
        self.aggregates.setdefault(name, Aggregate(name, expression, default))
        return n.column(name, FACTS)

    def line_flag(self, condition: exp.Expression) -> exp.Expression:
        """Register a line-level condition; returns `1 if some line of the order matches`."""
        name = _name("l", condition)
        self.line_flags.setdefault(name, condition)
        return exp.Coalesce(this=n.column(name, FLAGS), expressions=[n.number(0)])

    def merge(self, other: FactSet) -> None:
        self.customer_columns |= other.customer_columns
        self.aggregates.update(other.aggregates)
        self.line_flags.update(other.line_flags)


BASE_FACTS = (
    "order_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "average_order_value",
    "purchase_interval",
)


def facts_ctes(facts: FactSet, ev: Evaluation) -> list[tuple[str, exp.Select]]:
    """The CTEs (name, query) that build the `facts` relation for one evaluation day."""
    ctes: list[tuple[str, exp.Select]] = []
    o = lambda c: n.column(c, ORDER)  # noqa: E731
    order_facts = (
        _select(
            o("customer_id"),
            n.alias(exp.Count(this=exp.Star()), "order_count"),
            n.alias(exp.Sum(this=o("net_amount")), "total_spent"),
            n.alias(exp.Min(this=o("placed_at")), "first_order_at"),
            n.alias(exp.Max(this=o("placed_at")), "last_order_at"),
            *(n.alias(a.expression.copy(), a.name) for a in _sorted(facts.aggregates)),
        )
        .from_(table(ORDERS, ORDER), copy=False)
        .where(counted_orders(ORDER), copy=False)
        .where(n.binary(exp.LT, o("placed_at"), ev.cutoff), copy=False)
        .group_by(o("customer_id"), copy=False)
    )
    if facts.line_flags:
        flags = _select(
            exp.column("order_id", LINE),
            *(
                n.alias(exp.Max(this=_flag_case(cond.copy())), name)
                for name, cond in sorted(facts.line_flags.items())
            ),
        ).from_(table(ORDER_LINES, LINE), copy=False).group_by(n.column("order_id", LINE), copy=False)
        ctes.append(("line_flags", flags))
        order_facts = order_facts.join(
            n.table("line_flags", FLAGS),
            on=n.eq(n.column("order_id", FLAGS), o("order_id")),
            join_type="left",
            copy=False,
        )
    ctes.append(("order_facts", order_facts))

    a = lambda c: n.column(c, AGG)  # noqa: E731
    tz = exp.Literal.string(ev.timezone)
    local_day = lambda c: n.cast(exp.AtTimeZone(this=a(c), zone=tz.copy()), n.DType.DATE)  # noqa: E731
    interval = exp.Case(
        ifs=[
            exp.If(
                this=n.binary(exp.GTE, a("order_count"), 2),
                true=exp.Div(
                    this=exp.paren(exp.Sub(this=local_day("last_order_at"),
                                           expression=local_day("first_order_at"))),
                    expression=exp.paren(exp.Sub(this=a("order_count"),
                                                 expression=exp.Literal.number("1.0"))),
                    typed=True,
                ),
            )
        ]
    )
    zero = lambda: n.number(0)  # noqa: E731
    c = lambda col: n.column(col, "c")  # noqa: E731
    select = _select(
        c("customer_id"),
        *(c(col) for col in sorted(facts.customer_columns)),
        n.alias(exp.Coalesce(this=a("order_count"), expressions=[zero()]), "order_count"),
        n.alias(exp.Coalesce(this=a("total_spent"), expressions=[zero()]), "total_spent"),
        a("first_order_at"),
        a("last_order_at"),
        n.alias(
            exp.Div(this=a("total_spent"), expression=exp.Nullif(this=a("order_count"),
                                                                 expression=zero()), typed=True),
            "average_order_value",
        ),
        n.alias(interval, "purchase_interval"),
        *(
            n.alias(
                exp.Coalesce(this=a(agg.name), expressions=[agg.default.copy()])
                if agg.default is not None else a(agg.name),
                agg.name,
            )
            for agg in _sorted(facts.aggregates)
        ),
    ).from_(table(CUSTOMERS, "c"), copy=False).join(
        n.table("order_facts", AGG),
        on=n.eq(a("customer_id"), c("customer_id")),
        join_type="left",
        copy=False,
    ).where(
        n.or_(
            n.binary(exp.LT, c("created_at"), ev.cutoff),
            n.is_null(c("created_at")),
            n.is_not_null(a("customer_id")),
        ),
        copy=False,
    )
    ctes.append(("facts", select))
    return ctes


def _select(*expressions: exp.Expression) -> exp.Select:
    return exp.Select().select(*expressions, copy=False)


def _flag_case(condition: exp.Expression) -> exp.Expression:
    return exp.Case(
        ifs=[exp.If(this=condition, true=exp.Literal.number(1))],
        default=exp.Literal.number(0),
    )


def _sorted(aggregates: dict[str, Aggregate]) -> list[Aggregate]:
    return [aggregates[k] for k in sorted(aggregates)]
