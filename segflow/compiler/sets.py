"""Line-item sets and the aggregates of a set beyond `.count` / `.total` (issue 19, items 3, 4).

The spellings, all over the customer's counted orders as of the evaluation day:

- `lines[condition].AGG` and `lines.AGG`: the line items of those orders. Inside `lines[...]` a
  line field (`product`, `quantity`, ...) is the line's own; an order field (`date`, `source`,
  written bare or as `order.source`) is the line's order's; `order.product` is "the line's order
  has some line whose product is ...". Aggregates: count, quantity, revenue, days_since_last,
  days_since_first, last_date, first_date, average, max, distinct(FIELD).
- `orders[...]` / `later_orders[...]` gain days_since_last, days_since_first, last_date,
  first_date, average, max and distinct(FIELD); `scope.AGG` (no condition) is the whole set,
  for the aggregate names that are not order fields: `orders.count`, `orders.days_since_last`,
  `orders.distinct(product_type)`. `orders.total` and `orders.quantity` stay what they were
  (some order / some line has ...): they are fields.

Checking (`check_operand`) and compiling (`compile_atom`) both live here; the checker and the
predicate compiler call in from their dispatch. A set aggregate becomes one aggregate fact: over
the counted orders, or (`lines`, or a line field's distinct values) over their line items joined
to them, one row per line (`facts.py`: `lines=True`). Day aggregates keep the instant of the
latest / earliest order (data only); `days_since_*` compares it with a day derived from the
evaluation day, so those rules move with the calendar exactly as `days_since_last_order` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler.catalog import (
    AGGREGATES,
    DAY_AGGREGATES,
    FIELD_AGGREGATES,
    LINE_ONLY_AGGREGATES,
    LINES,
    ORDER_NAMESPACE,
    ORDER_OF_LINE,
    ORDER_ONLY_AGGREGATES,
    SCOPES,
    FieldDef,
    Level,
)
from segflow.compiler.facts import LINE, ORDER
from segflow.compiler.types import Type
from segflow.dsl import ast

if TYPE_CHECKING:  # pragma: no cover
    from segflow.compiler.checker import Checker
    from segflow.compiler.predicates import Pred, PredicateCompiler

LINE_NAMESPACE: dict[str, FieldDef] = dict(ORDER_NAMESPACE)
"""The names inside `lines[...]`: the order and line fields (its own object, so the checker
knows where it is)."""

SET_SCOPES = ("orders", "later_orders", LINES)
NEW_AGGREGATES = frozenset(AGGREGATES) - {"count", "total"}


@dataclass(frozen=True)
class SetAgg:
    """One aggregate of a set, whatever its spelling."""

    scope: str
    where: ast.Expr | None
    func: str
    arg: str | None

    @property
    def lines(self) -> bool:
        """Computed over line rows: a `lines` set, or the distinct values of a line field."""
        arg = ORDER_NAMESPACE.get(self.arg) if self.arg else None
        return self.scope == LINES or (arg is not None and arg.level is Level.LINE)


def handles(operand: ast.Operand, namespace) -> bool:
    """Whether this module checks and compiles the operand (else the existing code does)."""
    if namespace is LINE_NAMESPACE or type(operand) is ast.AggregateOf:
        return True
    if type(operand) is ast.Aggregate:
        return operand.scope == LINES or operand.func in NEW_AGGREGATES
    if type(operand) is ast.Scoped:
        name = operand.name
        return operand.scope == LINES or (
            operand.scope in SCOPES and name in AGGREGATES and name not in ORDER_NAMESPACE
            and (operand.scope in SET_SCOPES or name in NEW_AGGREGATES))
    return False


def spec(operand: ast.Operand) -> SetAgg:
    match operand:
        case ast.Aggregate(scope=scope, where=where, func=func):
            return SetAgg(scope, where, func, None)
        case ast.AggregateOf(scope=scope, where=where, func=func, arg=arg):
            return SetAgg(scope, where, func, arg)
        case ast.Scoped(scope=scope, name=name):
            return SetAgg(scope, None, name, None)
    raise TypeError(operand)  # pragma: no cover


def result_type(func: str) -> Type:
    return AGGREGATES[func][0]


# ---------------------------------------------------------------------- checking


def check_operand(ck: Checker, operand: ast.Operand, namespace, segments) -> Type | None:
    """The type of the operand, or None after reporting why it has none."""
    if namespace is LINE_NAMESPACE:
        return _check_in_lines(ck, operand)
    if namespace is not None and namespace is ORDER_NAMESPACE:
        ck.error(operand.span, "a set cannot be nested inside an order filter", "misplaced-scope")
        return None
    s = spec(operand)
    scope_span = operand.scope_span  # type: ignore[union-attr]
    func_span = operand.func_span if type(operand) is not ast.Scoped else operand.name_span
    ok = _check_set_scope(ck, s.scope, scope_span)
    if s.where is not None:
        ck._check_expr(s.where, LINE_NAMESPACE if s.scope == LINES else ORDER_NAMESPACE,
                       segments, None)
    if not ok:
        return None
    if s.func not in AGGREGATES:
        known = ", ".join(_applicable(s.scope))
        if s.scope == LINES and type(operand) is ast.Scoped and s.func in ORDER_NAMESPACE:
            ck.error(func_span, f"'lines.{s.func}' is not a condition on some line: write "
                     f"orders.{s.func} for that, or lines[{s.func} ...].count", "unknown-field")
        else:
            ck.error(func_span, f"unknown aggregate '{s.func}'"
                     f"{_did_you_mean(s.func, _applicable(s.scope))} (known: {known})",
                     "unknown-field")
        return None
    if not _check_applies(ck, s, func_span):
        return None
    if (s.func in FIELD_AGGREGATES) != (s.arg is not None):
        ck.error(func_span, f"'.{s.func}' takes a field: write .{s.func}(product)"
                 if s.arg is None else f"'.{s.func}' takes no field: write .{s.func}",
                 "bad-aggregate")
        return None
    if s.arg is not None and not _check_arg(ck, s, operand.arg_span):  # type: ignore[union-attr]
        return None
    return result_type(s.func)


def _applicable(scope: str) -> list[str]:
    banned = ORDER_ONLY_AGGREGATES if scope == LINES else LINE_ONLY_AGGREGATES
    return [a for a in AGGREGATES if a not in banned]


def _did_you_mean(name: str, candidates) -> str:
    from segflow.compiler.checker import did_you_mean

    return did_you_mean(name, candidates)


def _check_set_scope(ck: Checker, scope: str, span: ast.Span) -> bool:
    if scope in SET_SCOPES:
        return True
    if scope in SCOPES and SCOPES[scope].aggregatable:  # cancelled_orders (nth)
        ck.error(span, f"'{scope}' has count and total only; the other aggregates apply to "
                 "orders[...], later_orders[...] or lines[...]", "bad-scope")
    elif scope in SCOPES:
        ck.error(span, f"'{scope}' is a single order; aggregate a set: orders[...], "
                 "later_orders[...] or lines[...]", "bad-scope")
    else:
        ck.error(span, f"unknown order scope '{scope}'{_did_you_mean(scope, SCOPES)} "
                 f"(known: {', '.join(SCOPES)})", "unknown-scope")
    return False


def _check_applies(ck: Checker, s: SetAgg, span: ast.Span) -> bool:
    if s.scope == LINES and s.func in ORDER_ONLY_AGGREGATES:
        ck.error(span, "'lines' has no '.total' (an order's amount): use .revenue, what was "
                 "paid for the lines", "bad-aggregate")
        return False
    if s.scope != LINES and s.func in LINE_ONLY_AGGREGATES:
        cond = "..." if s.where is None else "<line condition>"
        ck.error(span, f"'.{s.func}' is of line items: write lines[{cond}].{s.func} (the lines "
                 f"that match, not whole orders)", "bad-aggregate")
        return False
    return True


def _check_arg(ck: Checker, s: SetAgg, span: ast.Span) -> bool:
    fdef = ORDER_NAMESPACE.get(s.arg or "")
    if fdef is None:
        ck.error(span, f"unknown order or line field '{s.arg}'"
                 f"{_did_you_mean(s.arg or '', ORDER_NAMESPACE)}", "unknown-field")
        return False
    if fdef.type is Type.STRING_LIST:
        ck.error(span, f"'{s.arg}' is a list; .distinct counts single values (text, numbers, "
                 "dates)", "bad-aggregate")
        return False
    return True


def _check_in_lines(ck: Checker, operand: ast.Operand) -> Type | None:
    """An operand inside `lines[...]`: a field of the line or of its order."""
    match operand:
        case ast.Field(name=name, span=span):
            fdef = LINE_NAMESPACE.get(name)
            if fdef is not None:
                return fdef.type
            from segflow.compiler.catalog import CUSTOMER_NAMESPACE

            hint = _did_you_mean(name, LINE_NAMESPACE)
            if not hint and name in CUSTOMER_NAMESPACE:
                hint = f" — '{name}' is a customer field and cannot be used inside lines[...]"
            ck.error(span, f"unknown line or order field '{name}'{hint}", "unknown-field")
            return None
        case ast.Scoped(scope=scope, name=name, scope_span=scope_span, name_span=name_span) \
                if scope == ORDER_OF_LINE:
            fdef = ORDER_NAMESPACE.get(name)
            if fdef is not None:
                return fdef.type
            ck.error(name_span, f"unknown order field '{name}'"
                     f"{_did_you_mean(name, ORDER_NAMESPACE)}", "unknown-field")
            return None
        case ast.Scoped(scope=scope, name=name, scope_span=scope_span):
            ck.error(scope_span, f"'{scope}.{name}' cannot be used inside lines[...]; write "
                     f"'{name}' (the line's own, or its order's) or 'order.{name}' (its "
                     "order's)", "misplaced-scope")
            return None
    ck.error(operand.span, "a set cannot be nested inside lines[...]", "misplaced-scope")
    return None


# ---------------------------------------------------------------------- compiling


def compile_atom(pc: PredicateCompiler, operand: ast.Operand, expr: ast.Expr) -> Pred:
    """`expr` (a positive comparison) on a set aggregate, over the facts."""
    s = spec(operand)
    col = _fact(pc, s)
    kind = _kind(s.func)
    if s.func.startswith("days_since"):
        fdef = FieldDef(s.func, Type.INTEGER, Level.FACT, "", "", "", True, True)
        return pc._field_on(col, fdef, expr)
    nullable = kind in ("last", "first", "average", "max")
    return pc._compare(col, result_type(s.func), nullable, expr)


def _kind(func: str) -> str:
    """The fact an aggregate reads: the latest / earliest instant serve two aggregates each."""
    if func in DAY_AGGREGATES:
        return "last" if "last" in func else "first"
    return func


def _fact(pc: PredicateCompiler, s: SetAgg) -> exp.Expression:
    kind = _kind(s.func)
    key = ("set", s.scope, repr(s.where), kind, s.arg)
    memo = repr(key)
    name = pc._facts_memo.get(memo)
    if name is None:
        agg, default = _build(pc, s, kind)
        name = pc._facts_memo[memo] = pc.facts.aggregate(agg, default, lines=s.lines).name
    return n.column(name, "f")


def _condition(pc: PredicateCompiler, s: SetAgg) -> exp.Expression:
    """Which rows (orders, or lines with their order) the set holds."""
    parts = []
    scope = pc._scope_filter(s.scope)
    if scope is not None:
        parts.append(scope)
    if s.where is not None:
        where = line_condition(pc, s.where) if s.scope == LINES else pc._order_condition(s.where)
        parts.append(where.sql)
    return n.and_(*parts) if parts else exp.true()


def line_revenue() -> exp.Expression:
    """What was paid for a line: unit price x quantity - the line's discount (NULL without a
    price: such a line adds nothing to revenue, average or max)."""
    l_ = lambda c: n.column(c, LINE)  # noqa: E731
    gross = exp.Mul(this=l_("price"), expression=l_("quantity"))
    return exp.Sub(this=gross, expression=l_("discount"))


def _amount(s: SetAgg) -> exp.Expression:
    return line_revenue() if s.scope == LINES else n.column("net_amount", ORDER)


def _value(pc: PredicateCompiler, name: str) -> exp.Expression:
    """A field's value on a row; a date field counts as its day in the store's zone."""
    fdef = ORDER_NAMESPACE[name]
    col = n.column(fdef.column, LINE if fdef.level is Level.LINE else ORDER)
    if fdef.type is Type.DATE:
        zone = exp.Literal.string(pc.ev.timezone)
        return n.cast(exp.AtTimeZone(this=col, zone=zone), n.DType.DATE)
    return col


def _build(pc: PredicateCompiler, s: SetAgg, kind: str):
    cond = _condition(pc, s)

    def case(value: exp.Expression, default: exp.Expression | None = None) -> exp.Expression:
        if cond == exp.true():  # the whole set
            return value
        return exp.Case(ifs=[exp.If(this=cond.copy(), true=value)], default=default)

    placed = n.column("placed_at", ORDER)
    match kind:
        case "count":
            counted = n.column("line_no", LINE) if s.lines else n.number(1)
            return exp.Count(this=case(counted)), n.number(0)
        case "quantity":
            return exp.Sum(this=case(n.column("quantity", LINE), n.number(0))), n.number(0)
        case "revenue":
            return exp.Sum(this=case(line_revenue(), n.number(0))), n.number(0)
        case "last":
            return exp.Max(this=case(placed)), None
        case "first":
            return exp.Min(this=case(placed)), None
        case "average":
            return exp.Avg(this=case(_amount(s))), None
        case "max":
            return exp.Max(this=case(_amount(s))), None
        case "distinct":
            value = _value(pc, s.arg or "")
            return exp.Count(this=exp.Distinct(expressions=[case(value)])), n.number(0)
    raise ValueError(kind)  # pragma: no cover


def line_condition(pc: PredicateCompiler, expr: ast.Expr) -> Pred:
    """A condition on one line item and its order (inside `lines[...]`)."""
    from segflow.compiler.predicates import _and, _not, _or, _positive

    match expr:
        case ast.BoolOp(op="and", operands=ops):
            return _and([line_condition(pc, o) for o in ops])
        case ast.BoolOp(op="or", operands=ops):
            return _or([line_condition(pc, o) for o in ops])
        case ast.BoolOp(op="except", operands=(first, *rest)):
            return _and([line_condition(pc, first), *(_not(line_condition(pc, o)) for o in rest)])
        case ast.Not(operand=operand):
            return _not(line_condition(pc, operand))
    negated = (
        (isinstance(expr, ast.Compare) and expr.op == "!=")
        or (isinstance(expr, ast.InList | ast.IsSet) and expr.negated)
    )
    operand = expr.operand  # type: ignore[union-attr]
    fdef = ORDER_NAMESPACE[operand.name]
    positive = _positive(expr)
    if type(operand) is ast.Field and fdef.level is Level.LINE:
        pred = pc._field_on(n.column(fdef.column, LINE), fdef, positive)  # the line's own
    else:
        pred = pc._field(fdef, positive)  # its order's (a line field: some line of the order)
    return _not(pred) if negated else pred
