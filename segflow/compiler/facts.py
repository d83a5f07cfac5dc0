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

All of them read the orders **as they were on the evaluation day** (`counted_orders`): an order
counts from the day it was placed until the day it is cancelled; its amount is less only the
refunds made by then; its position (`first_order` is 1) is numbered among the orders counted that
day, worked out here from the rows as they are (whoever wrote them), not read from a stored index.

Segment predicates (layer 2, `predicates.py`) then read only this relation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler import order_position
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.tables import (
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    POSITION,
    REFUNDS,
    counted_on,
    table,
)

FACTS = "f"  # alias of the facts relation in predicates
COUNTED = order_position.COUNTED_RELATION  # the relations aggregates are over
CANCELLED = order_position.CANCELLED_SCOPE  # orders cancelled by the end of the day (nth)
CANCELLED_FACTS = "ca"
ORDER = "o"
LINE = "l"
FLAGS = "lf"
AGG = "a"
LINE_AGG = "la"  # per-customer aggregates over line items (line_facts)
REFUND = "r"


def _name(prefix: str, expression: exp.Expression) -> str:
    digest = hashlib.sha1(expression.sql(dialect="postgres").encode()).hexdigest()[:10]
    return f"{prefix}_{digest}"


@dataclass(frozen=True)
class Aggregate:
    name: str
    expression: exp.Expression  # aggregate over the orders (alias o) and line flags (alias lf)
    default: exp.Expression | None  # value for customers without orders (None: stays NULL)
    over: str = COUNTED  # the orders aggregated: COUNTED, or CANCELLED (nth)
    # over line rows (alias l, joined to their counted order o), not over orders (sets.py)
    lines: bool = False


@dataclass
class FactSet:
    """The facts a set of rules needs; shared by every segment evaluated together."""

    customer_columns: set[str] = field(default_factory=set)
    aggregates: dict[str, Aggregate] = field(default_factory=dict)
    line_flags: dict[str, exp.Expression] = field(default_factory=dict)

    def customer_column(self, column: str) -> exp.Column:
        self.customer_columns.add(column)
        return n.column(column, FACTS)

    def aggregate(self, expression: exp.Expression, default: exp.Expression | None,
                  over: str = COUNTED, *, lines: bool = False) -> exp.Column:
        """Register an aggregate over orders (the counted ones, or `over` the cancelled ones;
        `lines`: over the counted orders' line items); returns the facts column holding it."""
        name = _name("y" if lines else "x" if over == COUNTED else "xc", expression)
        self.aggregates.setdefault(name, Aggregate(name, expression, default, over, lines))
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


def facts_ctes(facts: FactSet, ev: Evaluation, customers: exp.Expression | None = None,
               placed_from: exp.Expression | None = None) -> list[tuple[str, exp.Select]]:
    """The CTEs (name, query) that build the `facts` relation for one evaluation day.

    `customers`: a subquery of customer ids to restrict every CTE to. `placed_from`: an instant
    before which orders may be left out (only an optimisation, ignored when an aggregate reads an
    order's position, which needs every earlier order).
    """
    ctes: list[tuple[str, exp.Select]] = []
    o = lambda c: n.column(c, ORDER)  # noqa: E731
    positions = _reads_position(facts)
    if positions:
        placed_from = None
    per_line = [a for a in _sorted(facts.aggregates) if a.lines]
    measures = [*_base_facts(o), *(n.alias(a.expression.copy(), a.name)
                                   for a in _sorted(facts.aggregates)
                                   if a.over == COUNTED and not a.lines)]
    read = {col.name for m in [*measures, *(a.expression for a in per_line)]
            for col in m.find_all(exp.Column) if col.table == ORDER}
    ctes.append(("counted_orders", _counted(ev, read, positions, customers, placed_from)))
    order_facts = (
        _select(o("customer_id"), *measures)
        .from_(n.table("counted_orders", ORDER), copy=False)
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
        window = _orders_of(customers, placed_from)
        if window is not None:
            flags = flags.where(n.column("order_id", LINE).isin(query=window, copy=False),
                                copy=False)
        ctes.append(("line_flags", flags))
        order_facts = order_facts.join(
            n.table("line_flags", FLAGS),
            on=n.eq(n.column("order_id", FLAGS), o("order_id")),
            join_type="left",
            copy=False,
        )
    ctes.append(("order_facts", order_facts))
    ctes += _cancelled_facts(facts, ev, customers, placed_from)
    if per_line:
        ctes.append(("line_facts", _line_facts(per_line, bool(facts.line_flags))))
    ctes.append(("facts", _customer_facts(facts, ev, customers)))
    return ctes


def _cancelled_facts(facts: FactSet, ev: Evaluation, customers: exp.Expression | None,
                     placed_from: exp.Expression | None) -> list[tuple[str, exp.Select]]:
    """`cancelled_orders[...]` aggregates: over the orders cancelled by the end of the day."""
    aggs = [a for a in _sorted(facts.aggregates) if a.over == CANCELLED]
    if not aggs:
        return []
    o = lambda c: n.column(c, ORDER)  # noqa: E731
    measures = [n.alias(a.expression.copy(), a.name) for a in aggs]
    read = {col.name for m in measures for col in m.find_all(exp.Column) if col.table == ORDER}
    relation = _counted(ev, read, False, customers, placed_from, cancelled=True)
    grouped = (_select(o("customer_id"), *measures)
               .from_(n.table(CANCELLED, ORDER), copy=False)
               .group_by(o("customer_id"), copy=False))
    if facts.line_flags:
        grouped = grouped.join(n.table("line_flags", FLAGS), on=n.eq(
            n.column("order_id", FLAGS), o("order_id")), join_type="left", copy=False)
    return [(CANCELLED, relation), ("cancelled_facts", grouped)]


def _base_facts(o) -> list[exp.Expression]:
    """The base facts over the counted orders (alias `o`), before customers without orders."""
    return [
        n.alias(exp.Count(this=exp.Star()), "order_count"),
        n.alias(exp.Sum(this=o("net_amount")), "total_spent"),
        n.alias(exp.Min(this=o("placed_at")), "first_order_at"),
        n.alias(exp.Max(this=o("placed_at")), "last_order_at"),
    ]


def _reads_position(facts: FactSet) -> bool:
    return any(order_position.reads_window({col.name}) for a in facts.aggregates.values()
               for col in a.expression.find_all(exp.Column) if col.table == ORDER)


def _counted(ev: Evaluation, read: set[str], positions: bool,
             customers: exp.Expression | None, placed_from: exp.Expression | None,
             cancelled: bool = False) -> exp.Select:
    """The orders counted on the evaluation day, each with its amount and position on that day.

    Counted: attached to a customer, not a test, placed by the end of the day and not cancelled
    by then. Amount: `net_amount` plus the dated refunds made after the day (not yet subtracted on
    it). Position (only when a rule reads it): 1 for the customer's first counted order, ...
    `read`: the order columns the facts read. `cancelled`: the orders cancelled by the end of
    the day instead, which have no position (order_position.py).
    """
    o = lambda c: n.column(c, ORDER)  # noqa: E731
    wanted = ({"order_id", "customer_id", "placed_at"} | read) - {"net_amount"} \
        - order_position.DERIVED
    later = n.column("later", REFUND)
    amount = exp.Add(this=o("net_amount"), expression=exp.Least(
        this=exp.Coalesce(this=later, expressions=[n.number(0)]),
        expressions=[o("refunded_amount")]))
    columns: list[exp.Expression] = [o(c) for c in sorted(wanted)]
    columns.append(n.alias(amount, "net_amount"))
    if positions:
        columns.append(n.alias(exp.Window(
            this=exp.RowNumber(), partition_by=[o("customer_id")],
            order=exp.Order(expressions=[exp.Ordered(this=o("placed_at")),
                                         exp.Ordered(this=o("order_id"))])), POSITION))
    columns += order_position.derived_columns(read, o, ev, later, counted=not cancelled)
    refunds = (
        _select(n.column("order_id", REFUND),
                n.alias(exp.Sum(this=n.column("amount", REFUND)), "later"))
        .from_(table(REFUNDS, REFUND), copy=False)
        .where(n.binary(exp.GTE, n.column("created_at", REFUND), ev.cutoff), copy=False)
        .group_by(n.column("order_id", REFUND), copy=False)
    )
    query = _select(*columns).from_(table(ORDERS, ORDER), copy=False).join(
        exp.Subquery(this=refunds, alias=exp.TableAlias(this=n.ident(REFUND))),
        on=n.eq(n.column("order_id", REFUND), o("order_id")), join_type="left", copy=False,
    ).where(order_position.cancelled_on(ev, o) if cancelled else counted_on(ev, ORDER), copy=False)
    if customers is not None:
        query = query.where(o("customer_id").isin(query=customers.copy(), copy=False), copy=False)
    if placed_from is not None:
        query = query.where(n.binary(exp.GTE, o("placed_at"), placed_from.copy()), copy=False)
    return query


def _orders_of(customers: exp.Expression | None,
               placed_from: exp.Expression | None) -> exp.Select | None:
    """The ids of the orders the restrictions leave (for the line flags), or None: all."""
    if customers is None and placed_from is None:
        return None
    query = _select(n.column("order_id")).from_(n.table(ORDERS), copy=False)
    if customers is not None:
        query = query.where(n.column("customer_id").isin(query=customers.copy(), copy=False),
                            copy=False)
    if placed_from is not None:
        query = query.where(n.binary(exp.GTE, n.column("placed_at"), placed_from.copy()),
                            copy=False)
    return query


def _line_facts(aggregates: list[Aggregate], flags: bool) -> exp.Select:
    """Per customer, the aggregates over the line items of their counted orders (sets.py)."""
    def o(c):
        return n.column(c, ORDER)

    def line(c):
        return n.column(c, LINE)

    query = _select(o("customer_id"), *(n.alias(a.expression.copy(), a.name) for a in aggregates))
    query = query.from_(n.table("counted_orders", ORDER), copy=False).join(
        table(ORDER_LINES, LINE), on=n.eq(line("order_id"), o("order_id")), copy=False)
    if flags:
        query = query.join(n.table("line_flags", FLAGS), join_type="left", copy=False,
                           on=n.eq(n.column("order_id", FLAGS), o("order_id")))
    return query.group_by(o("customer_id"), copy=False)


def _customer_facts(facts: FactSet, ev: Evaluation,
                    customers: exp.Expression | None) -> exp.Select:
    """One row per customer (existing by the end of the day): base facts, columns, aggregates."""
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
                exp.Coalesce(this=_agg_column(agg), expressions=[agg.default.copy()])
                if agg.default is not None else _agg_column(agg),
                agg.name,
            )
            for agg in _sorted(facts.aggregates)
        ),
    ).from_(table(CUSTOMERS, "c"), copy=False).join(
        n.table("order_facts", AGG),
        on=n.eq(a("customer_id"), c("customer_id")),
        join_type="left",
        copy=False,
    )
    if any(agg.over == CANCELLED for agg in facts.aggregates.values()):
        select = select.join(n.table("cancelled_facts", CANCELLED_FACTS), on=n.eq(
            n.column("customer_id", CANCELLED_FACTS), c("customer_id")), join_type="left",
            copy=False)
    if any(agg.lines for agg in facts.aggregates.values()):
        select = select.join(n.table("line_facts", LINE_AGG), join_type="left", copy=False,
                             on=n.eq(n.column("customer_id", LINE_AGG), c("customer_id")))
    select = select.where(
        n.or_(
            n.binary(exp.LT, c("created_at"), ev.cutoff),
            n.is_null(c("created_at")),
            n.is_not_null(a("customer_id")),
        ),
        copy=False,
    )
    if customers is not None:
        select = select.where(c("customer_id").isin(query=customers.copy(), copy=False),
                              copy=False)
    return select


def _agg_column(agg: Aggregate) -> exp.Column:
    if agg.lines:
        return n.column(agg.name, LINE_AGG)
    return n.column(agg.name, AGG if agg.over == COUNTED else CANCELLED_FACTS)


def _select(*expressions: exp.Expression) -> exp.Select:
    return exp.Select().select(*expressions, copy=False)


def _flag_case(condition: exp.Expression) -> exp.Expression:
    return exp.Case(
        ifs=[exp.If(this=condition, true=exp.Literal.number(1))],
        default=exp.Literal.number(0),
    )


def _sorted(aggregates: dict[str, Aggregate]) -> list[Aggregate]:
    return [aggregates[k] for k in sorted(aggregates)]
