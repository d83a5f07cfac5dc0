"""Where an order stands among its customer's orders, and what happened to it, as of a day.

The order fields `number`, `days_since_previous`, `days_after_first`, `refunded` and
`cancelled`, and the scopes `order(N)` and `previous_order`, are not columns of `store.orders`:
they depend on which orders count on the evaluation day (an order cancelled after the day still
counts on it, one placed after it does not yet), so they are derived in the `counted_orders`
relation of facts.py, over the orders counted that day, and only when a rule reads them:

- `number` (the `customer_order_index` column there): 1 for the customer's first counted order;
- `from_last` (no field; read by `previous_order`): 1 for the most recent counted order;
- `days_since_previous` / `days_after_first`: days between the order's day and the previous /
  first counted order's day, both in the store's time zone (NULL on the first / 0);
- `refunded`: the refunds made by the end of the day (dated refunds after it not yet);
- `cancelled`: whether the order was cancelled by the end of the day (never, for counted ones).

None of these moves with the calendar: they change only when the customer's orders do, which
the incremental run already watches (orders placed or cancelled, refunds made, on a day).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.tables import POSITION
from segflow.dsl import ast

FROM_LAST = "from_last"  # 1 for the customer's most recent counted order, 2 for the one before
NTH_SCOPE = "order"  # `order(N).field`
PREVIOUS = "previous_order"
CANCELLED_SCOPE = "cancelled_orders"  # also the name of its relation in facts.py
COUNTED_RELATION = "counted_orders"  # facts.COUNTED (facts.py imports this module)


def _window(o, function: exp.Expression, *, ordered: bool = True) -> exp.Window:
    """`function OVER (PARTITION BY customer ORDER BY placed_at, order_id)` over counted orders
    (`ordered=False`: the whole partition)."""
    order = None
    if ordered:
        order = exp.Order(expressions=[exp.Ordered(this=o("placed_at")),
                                       exp.Ordered(this=o("order_id"))])
    return exp.Window(this=function, partition_by=[o("customer_id")], order=order)


def _local_day(instant: exp.Expression, ev: Evaluation) -> exp.Expression:
    """The calendar day of an instant in the store's zone (a DATE; DATE - DATE is days)."""
    zone = exp.Literal.string(ev.timezone)
    return n.cast(exp.AtTimeZone(this=instant, zone=zone), n.DType.DATE)


def _days_from(o, ev: Evaluation, other: exp.Expression) -> exp.Expression:
    return exp.Sub(this=_local_day(o("placed_at"), ev), expression=_local_day(other, ev))


def _from_last(o, ev: Evaluation, later: exp.Expression) -> exp.Expression:
    """count - position + 1: windows over the one (customer, placed_at, order_id) sort that
    the position needs too (a descending ROW_NUMBER would sort the orders a second time)."""
    count = _window(o, exp.Count(this=exp.Star()), ordered=False)
    return exp.Add(this=exp.Sub(this=count, expression=_window(o, exp.RowNumber())),
                   expression=n.number(1))


def _days_since_previous(o, ev: Evaluation, later: exp.Expression) -> exp.Expression:
    return _days_from(o, ev, _window(o, exp.Lag(this=o("placed_at"))))


def _days_after_first(o, ev: Evaluation, later: exp.Expression) -> exp.Expression:
    return _days_from(o, ev, _window(o, exp.Min(this=o("placed_at")), ordered=False))


def _refunded(o, ev: Evaluation, later: exp.Expression) -> exp.Expression:
    """Refunded by the end of the day: the whole refunded amount less the dated refunds after."""
    not_yet = exp.Least(this=exp.Coalesce(this=later, expressions=[n.number(0)]),
                        expressions=[o("refunded_amount")])
    return exp.Sub(this=o("refunded_amount"), expression=not_yet)


def _cancelled(o, ev: Evaluation, later: exp.Expression) -> exp.Expression:
    cancelled = o("cancelled_at")
    return n.paren(n.and_(n.is_not_null(cancelled),
                          n.binary(exp.LT, cancelled.copy(), ev.cutoff)))


Builder = Callable[..., exp.Expression]

# name -> builder(o, ev, later refunds); the first four need every earlier order of the customer
WINDOWED: dict[str, Builder] = {
    FROM_LAST: _from_last,
    "days_since_previous": _days_since_previous,
    "days_after_first": _days_after_first,
}
PLAIN: dict[str, Builder] = {"refunded": _refunded, "cancelled": _cancelled}
DERIVED = frozenset({POSITION, *WINDOWED, *PLAIN})  # never read from store.orders itself


def reads_window(columns: set[str]) -> bool:
    """Whether order columns read include one numbered among all of a customer's orders."""
    return bool(columns & ({POSITION} | WINDOWED.keys()))


def derived_columns(read: set[str], o, ev: Evaluation, later: exp.Expression, *,
                    counted: bool = True) -> list[exp.Expression]:
    """The derived columns a relation of orders must carry for `read` (the position of a
    counted order is facts.py's). Cancelled orders (`counted=False`) have no position: their
    windowed columns are NULL, and `cancelled` is true."""
    builders = {**WINDOWED, **PLAIN}
    if not counted:
        unset = lambda *_: n.cast(exp.Null(), n.DType.INT)  # noqa: E731
        builders = {**builders, **dict.fromkeys([POSITION, *WINDOWED], unset),
                    "cancelled": lambda *_: exp.true()}
    return [n.alias(builders[name](o, ev, later.copy()), name)
            for name in sorted(read & builders.keys())]


def cancelled_on(ev: Evaluation, o) -> exp.Expression:
    """The orders of `cancelled_orders`: attached to a customer, not a test, placed and
    cancelled by the end of the evaluation day."""
    cancelled = o("cancelled_at")
    return n.and_(
        n.is_not_null(o("customer_id")),
        n.not_(o("is_test")),
        n.binary(exp.LT, o("placed_at"), ev.cutoff),
        n.is_not_null(cancelled),
        n.binary(exp.LT, cancelled.copy(), ev.cutoff),
    )


# ---------------------------------------------------------------------- scopes


def relation(scope: str) -> str:
    """The orders a scope ranges over: the counted ones, or the cancelled ones (facts.py)."""
    return CANCELLED_SCOPE if scope == CANCELLED_SCOPE else COUNTED_RELATION


def whole_set(operand: ast.Scoped) -> bool:
    """`cancelled_orders.count` / `.total`: an aggregate of a whole set (no filter)."""
    return operand.scope == CANCELLED_SCOPE and operand.name in ("count", "total")


def nth_filter(number: int, o) -> exp.Expression:
    """`order(N)`: the order numbered N (`order(1)` compiles exactly as `first_order`)."""
    return n.eq(o(POSITION), number)


def previous_filter(o) -> exp.Expression:
    """`previous_order`: the second most recent counted order."""
    return n.eq(o(FROM_LAST), 2)


def nth_problem(operand: ast.NthScoped) -> tuple[ast.Span, str] | None:
    """What is wrong with `name(N)` before its field is looked at, if anything."""
    if operand.scope != NTH_SCOPE:
        return operand.scope_span, (f"unknown numbered scope '{operand.scope}(...)'; the Nth "
                                    f"order is written {NTH_SCOPE}(N), e.g. order(3).product")
    number = operand.number
    if number != number.to_integral_value():
        return operand.number_span, (f"order(N) takes a whole number; {number} is not "
                                     "(order(1) is the first order)")
    if number < 1:
        return operand.number_span, (f"order(N) counts from 1 (order(1) is the first order); "
                                     f"{number} is not a position")
    return None
