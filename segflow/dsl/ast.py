"""The typed, immutable syntax tree of segment files.

Every node is a frozen dataclass carrying its `Span`. Spans are excluded from equality, so two
trees compare equal when they mean the same thing, whatever their layout: this is what lets the
formatter be tested with `parse(fmt(x)) == parse(x)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple


class Span(NamedTuple):
    """Where a node starts and ends in its file (1-based lines and columns, end exclusive).

    A named tuple rather than a dataclass: the parser makes one per token and node, and tuples
    are several times cheaper to create and to (un)pickle.
    """

    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def unknown() -> Span:
        return Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default_factory=Span.unknown, compare=False, repr=False)


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class StringLit:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class NumberLit:
    value: Decimal
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class DateLit:
    value: dt.date
    span: Span = _span()


@dataclass(frozen=True)
class Today:
    span: Span = _span()


DurationUnit = Literal["d", "w", "m", "y"]


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: DurationUnit
    span: Span = _span()


@dataclass(frozen=True)
class DateOffset:
    """`base + duration` or `base - duration`, e.g. `today - 30d`."""

    base: DateLit | Today | DateOffset
    sign: Literal["+", "-"]
    duration: Duration
    span: Span = _span()


DateValue = DateLit | Today | DateOffset
Value = StringLit | NumberLit | BoolLit | DateLit | Today | DateOffset


@dataclass(frozen=True)
class ListLit:
    items: tuple[Value, ...]
    span: Span = _span()


# ---------------------------------------------------------------- operands


@dataclass(frozen=True)
class Field:
    """A bare name: a customer attribute or fact, or (inside `orders[...]`) an order attribute."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Scoped:
    """`scope.field`, e.g. `first_order.product`: true when some order in the scope matches."""

    scope: str
    name: str
    scope_span: Span = _span()
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Aggregate:
    """`scope[condition].func`, e.g. `orders[source = "pos"].count`."""

    scope: str
    where: Expr
    func: str
    scope_span: Span = _span()
    func_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class NthScoped:
    """`scope(number).field`, e.g. `order(3).product`: the customer's Nth counted order matches.

    `number` is kept as written (the checker requires a whole number from 1 on)."""

    scope: str
    number: Decimal
    name: str
    scope_span: Span = _span()
    number_span: Span = _span()
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class AggregateOf:
    """`scope[condition].func(field)`, or without a condition `scope.func(field)`, e.g.
    `orders.distinct(product_type)` (`where` is None: the whole set)."""

    scope: str
    where: Expr | None
    func: str
    arg: str
    scope_span: Span = _span()
    func_span: Span = _span()
    arg_span: Span = _span()
    span: Span = _span()


Operand = Field | Scoped | Aggregate | NthScoped | AggregateOf


# ---------------------------------------------------------------- expressions

CompareOp = Literal["=", "!=", "<", "<=", ">", ">=", "contains", "starts with"]


@dataclass(frozen=True)
class Compare:
    operand: Operand
    op: CompareOp
    value: Value
    span: Span = _span()


@dataclass(frozen=True)
class InList:
    operand: Operand
    values: ListLit
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Between:
    operand: Operand
    low: Value
    high: Value
    span: Span = _span()


@dataclass(frozen=True)
class IsSet:
    operand: Operand
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Truthy:
    """A bare boolean field used as a condition, e.g. `accepts_marketing`."""

    operand: Operand
    span: Span = _span()


@dataclass(frozen=True)
class SegmentRef:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class BoolOp:
    """`and` / `or` / `except` over two or more operands (flattened, left to right)."""

    op: Literal["and", "or", "except"]
    operands: tuple[Expr, ...]
    span: Span = _span()


Expr = Compare | InList | Between | IsSet | Truthy | SegmentRef | Not | BoolOp


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class NameList:
    items: tuple[str, ...]
    item_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()


AttrValue = StringLit | NameList


@dataclass(frozen=True)
class Attr:
    name: str
    value: AttrValue
    span: Span = _span()


@dataclass(frozen=True)
class Where:
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class GroupDecl:
    name: str
    attrs: tuple[Attr, ...]
    name_span: Span = _span()
    span: Span = _span()

    kind = "group"


@dataclass(frozen=True)
class SegmentDecl:
    name: str
    attrs: tuple[Attr, ...]
    where: Where | None
    name_span: Span = _span()
    span: Span = _span()

    kind = "segment"

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)


Decl = GroupDecl | SegmentDecl


@dataclass(frozen=True)
class Comment:
    text: str  # including the leading '#'
    line: int
    col: int
    own_line: bool  # nothing but whitespace before it on its line


@dataclass(frozen=True)
class SourceFile:
    """One parsed segment file: its declarations, comments, and the text they came from."""

    path: str
    decls: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    text: str = field(default="", compare=False, repr=False)
    # (kind, name) of declarations that did not parse (a file with syntax errors): they exist,
    # so references to them are not "unknown"
    unparsed: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def line(self, n: int) -> str:
        # lines as the parser counts them: at "\n" only (splitlines also splits at \f, \x1c,
        # U+2028 and others, which may stand in a comment or a string)
        lines = self.text.split("\n")
        return lines[n - 1].rstrip("\r") if 0 < n <= len(lines) else ""


# ---------------------------------------------------------------- nesting

MAX_NESTING = 100
"""How deep a rule may nest: `not`, `and` / `or` / `except` inside one another, order filters,
date offsets, and (counted by the checker) the rules of the segments it refers to, inlined.
Far more than a person writes; it keeps every recursive step (checker, compiler, formatter, the
parse cache, SQL rendering) well inside Python's stack."""


def _children(node) -> tuple:
    t = type(node)
    if t is BoolOp:
        return node.operands
    if t is Not:
        return (node.operand,)
    if t is DateOffset:
        return (node.base,)
    if t in (Compare, InList, Between, IsSet, Truthy):
        out = [node.operand.where] if type(node.operand) is Aggregate else []
        if type(node.operand) is AggregateOf and node.operand.where is not None:
            out.append(node.operand.where)
        if t is Compare:
            out.append(node.value)
        elif t is Between:
            out += (node.low, node.high)
        elif t is InList:
            out += node.values.items
        return tuple(out)
    return ()


def depths(expr: Expr):
    """Every node of a rule (values included) with its depth, the rule itself at 1.

    Iterative, so that it works on any tree the parser could build, however deep.
    """
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in _children(node))
