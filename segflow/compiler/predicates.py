"""Layer 2 of a compiled rule: a segment's predicate over the per-customer facts.

Rules use two-valued logic: a comparison with an unset value is false, and `not` turns false
into true (`!=`, `not in` and `is not set` are the negations of `=`, `in` and `is set`). SQL's
NULL would make `not` unreliable, so every negation of something that may be NULL is emitted as
`NOT COALESCE(x, FALSE)`.

A comparison on an order scope is existential: `later_orders.product = "Y"` holds when some
later order has a line item whose product is Y. It becomes one aggregate fact (see facts.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler import order_position
from segflow.compiler.catalog import CUSTOMER_NAMESPACE, ORDER_NAMESPACE, FieldDef, Level
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.facts import FACTS, FLAGS, LINE, ORDER, FactSet
from segflow.compiler.tables import LIST_MEMBERS
from segflow.compiler.types import Type
from segflow.dsl import ast
from segflow.errors import Diagnostic, SegflowError

_ORDERING = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE, "=": exp.EQ}
# days_since_x op n  <=>  day(x) flipped-op (as_of - n)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


@dataclass(frozen=True)
class Pred:
    """A compiled condition and whether it can evaluate to NULL."""

    sql: exp.Expression
    nullable: bool


def _not(p: Pred) -> Pred:
    if isinstance(p.sql, exp.Not):  # not not x = x (x is never NULL under a NOT we made)
        return Pred(p.sql.this.unnest(), False)
    inner = exp.Coalesce(this=p.sql, expressions=[exp.false()]) if p.nullable else n.paren(p.sql)
    return Pred(exp.Not(this=inner), False)


def _and(parts: list[Pred]) -> Pred:
    return Pred(n.and_(*(p.sql for p in parts)), any(p.nullable for p in parts))


def _or(parts: list[Pred]) -> Pred:
    return Pred(n.or_(*(p.sql for p in parts)), any(p.nullable for p in parts))


def _lit(value: ast.Value, ev: Evaluation) -> exp.Expression:
    match value:
        case ast.StringLit(value=v):
            return exp.Literal.string(v)
        case ast.NumberLit(value=v):
            return exp.Literal.number(format(v, "f"))
        case ast.BoolLit(value=v):
            return exp.true() if v else exp.false()
    raise TypeError(value)  # pragma: no cover


class PredicateCompiler:
    """Compiles rule expressions of one project into predicates over the facts relation `f`."""

    def __init__(self, ev: Evaluation, facts: FactSet,
                 rules: Mapping[str, ast.Expr | None] | None = None):
        self.ev = ev
        self.facts = facts
        self.rules = rules or {}  # segment id -> rule (None: static list)
        self._segment_cache: dict[str, Pred] = {}
        self._facts_memo: dict[str, str] = {}  # repr of an order-level condition -> fact name

    # ------------------------------------------------------------------ customer level

    def compile(self, expr: ast.Expr) -> exp.Expression:
        return self._expr(expr).sql

    def segment(self, segment_id: str) -> Pred:
        """The predicate of a segment (inlined where other segments refer to it)."""
        if segment_id not in self._segment_cache:
            rule = self.rules.get(segment_id)
            if rule is None:
                members = exp.select(n.column("customer_id", "m")).from_(
                    n.table(LIST_MEMBERS, "m"), copy=False).where(
                    n.eq(n.column("segment_id", "m"), exp.Literal.string(segment_id)), copy=False)
                pred = Pred(n.column("customer_id", FACTS).isin(query=members, copy=False), False)
            else:
                pred = self._expr(rule)
            self._segment_cache[segment_id] = pred
        return self._segment_cache[segment_id]

    def _expr(self, expr: ast.Expr) -> Pred:
        match expr:
            case ast.BoolOp(op="and", operands=ops):
                return _and([self._expr(o) for o in ops])
            case ast.BoolOp(op="or", operands=ops):
                return _or([self._expr(o) for o in ops])
            case ast.BoolOp(op="except", operands=(first, *rest)):
                return _and([self._expr(first), *(_not(self._expr(o)) for o in rest)])
            case ast.Not(operand=operand):
                return _not(self._expr(operand))
            case ast.SegmentRef(name=name):
                # a copy: the referred segment's own tree stays its own
                ref = self.segment(name)
                return Pred(ref.sql.copy(), ref.nullable)
        return self._atom(expr, customer=True)

    def _atom(self, expr: ast.Expr, *, customer: bool) -> Pred:
        """A comparison / in / between / is set / truthy, at customer or order level."""
        negated = (
            (isinstance(expr, ast.Compare) and expr.op == "!=")
            or (isinstance(expr, ast.InList | ast.IsSet) and expr.negated)
        )
        operand = expr.operand  # type: ignore[union-attr]
        from segflow.compiler import sets

        if isinstance(operand, ast.Scoped) and order_position.whole_set(operand):
            # `cancelled_orders.count`: the aggregate of the whole set
            pred = self._compare(self._fact(operand, lambda: self._set_fact(
                operand.scope, operand.name, None)), Type.INTEGER if operand.name == "count"
                else Type.NUMBER, False, _positive(expr))
        elif sets.handles(operand, None):  # lines[...], set aggregates beyond count / total
            pred = sets.compile_atom(self, operand, _positive(expr))
        elif isinstance(operand, ast.Scoped | ast.NthScoped):
            pred = self._existential(operand, _positive(expr))
        elif isinstance(operand, ast.Aggregate):
            pred = self._compare(self._aggregate(operand), Type.INTEGER
                                 if operand.func == "count" else Type.NUMBER, False, _positive(expr))
        else:
            namespace = CUSTOMER_NAMESPACE if customer else ORDER_NAMESPACE
            fdef = namespace[operand.name]
            pred = self._field(fdef, _positive(expr))
        return _not(pred) if negated else pred

    def _field(self, fdef: FieldDef, expr: ast.Expr) -> Pred:
        match fdef.level:
            case Level.CUSTOMER:
                column = self.facts.customer_column(fdef.column)
            case Level.FACT:
                column = n.column(fdef.column, FACTS)
            case Level.ORDER:
                column = n.column(fdef.column, ORDER)
            case Level.LINE:
                # matches an order when some line item of it matches
                inner = self._field_on(n.column(fdef.column, LINE), fdef, expr)
                return Pred(n.eq(self.facts.line_flag(inner.sql), n.number(1)), False)
        return self._field_on(column, fdef, expr)

    def _field_on(self, column: exp.Expression, fdef: FieldDef, expr: ast.Expr) -> Pred:
        # `days_since_x is set` is whether x is set: the column is x itself
        if fdef.days_since and not isinstance(expr, ast.IsSet):
            return self._days_since(column, fdef, expr)
        return self._compare(column, fdef.type, fdef.nullable, expr)

    # ------------------------------------------------------------------ comparisons

    def _compare(self, col: exp.Expression, ftype: Type, nullable: bool, expr: ast.Expr) -> Pred:
        if isinstance(expr, ast.IsSet):
            if ftype is Type.STRING_LIST:
                size = exp.Coalesce(this=exp.ArraySize(this=col), expressions=[n.number(0)])
                return Pred(n.binary(exp.GT, size, 0), False)
            return Pred(n.is_not_null(col), False)
        if isinstance(expr, ast.Truthy):
            return Pred(col, nullable)
        if ftype is Type.DATE:
            return self._date(col, expr)
        if ftype is Type.STRING_LIST:
            return self._list(col, expr)
        match expr:
            case ast.Compare(op="contains", value=value):
                pos = exp.StrPosition(this=exp.Lower(this=col), substr=exp.Lower(this=_lit(value, self.ev)))
                return Pred(n.binary(exp.GT, pos, 0), nullable)
            case ast.Compare(op="starts with", value=value):
                needle = value.value  # type: ignore[union-attr]
                left = exp.Left(this=exp.Lower(this=col), expression=n.number(len(needle)))
                return Pred(n.eq(left, exp.Lower(this=_lit(value, self.ev))), nullable)
            case ast.Compare(op=op, value=value):
                return Pred(_ORDERING[op](this=col, expression=_lit(value, self.ev)), nullable)
            case ast.InList(values=values):
                return Pred(exp.In(this=col, expressions=[_lit(v, self.ev) for v in values.items]),
                            nullable)
            case ast.Between(low=low, high=high):
                return Pred(exp.Between(this=col, low=_lit(low, self.ev), high=_lit(high, self.ev)),
                            nullable)
        raise TypeError(expr)  # pragma: no cover

    def _list(self, col: exp.Expression, expr: ast.Expr) -> Pred:
        match expr:
            case ast.Compare(op="=", value=value):
                return Pred(exp.ArrayOverlaps(this=col, expression=exp.Array(
                    expressions=[_lit(value, self.ev)])), False)
            case ast.InList(values=values):
                return Pred(exp.ArrayOverlaps(this=col, expression=exp.Array(
                    expressions=[_lit(v, self.ev) for v in values.items])), False)
            case ast.Compare(op=op, value=value):
                item = n.column("item", "t")
                if op == "contains":
                    cond = n.binary(exp.GT, exp.StrPosition(
                        this=exp.Lower(this=item), substr=exp.Lower(this=_lit(value, self.ev))), 0)
                else:
                    needle = value.value  # type: ignore[union-attr]
                    cond = n.eq(exp.Left(this=exp.Lower(this=item), expression=n.number(len(needle))),
                                exp.Lower(this=_lit(value, self.ev)))
                unnest = exp.Unnest(expressions=[col], alias=exp.TableAlias(
                    this=n.ident("t"), columns=[n.ident("item")]))
                sub = exp.select(n.number(1)).from_(unnest, copy=False).where(cond, copy=False)
                return Pred(exp.Exists(this=sub), False)
        raise TypeError(expr)  # pragma: no cover

    def _date(self, col: exp.Expression, expr: ast.Expr) -> Pred:
        """A date field against days: day boundaries become instant literals."""
        start = lambda d: self.ev.day_start_literal(d)  # noqa: E731
        next_day = lambda d: d + dt.timedelta(days=1)  # noqa: E731

        def cmp(op: str, day: dt.date) -> exp.Expression:
            match op:
                case "=":
                    return n.and_(n.binary(exp.GTE, col.copy(), start(day)),
                                  n.binary(exp.LT, col.copy(), start(next_day(day))))
                case "<":
                    return n.binary(exp.LT, col.copy(), start(day))
                case "<=":
                    return n.binary(exp.LT, col.copy(), start(next_day(day)))
                case ">":
                    return n.binary(exp.GTE, col.copy(), start(next_day(day)))
                case ">=":
                    return n.binary(exp.GTE, col.copy(), start(day))
            raise ValueError(op)  # pragma: no cover

        match expr:
            case ast.Compare(op=op, value=value):
                return Pred(cmp(op, self._day(value)), True)
            case ast.InList(values=values):
                return Pred(n.or_(*(n.paren(cmp("=", self._day(v))) for v in values.items)), True)
            case ast.Between(low=low, high=high):
                return Pred(n.and_(cmp(">=", self._day(low)), cmp("<=", self._day(high))), True)
        raise TypeError(expr)  # pragma: no cover

    def _days_since(self, col: exp.Expression, fdef: FieldDef, expr: ast.Expr) -> Pred:
        """`days_since_x op n` is `x`'s day compared with the day n days before the evaluation."""
        def day(v: ast.Value) -> ast.DateLit:
            days = int(v.value)  # type: ignore[union-attr]
            try:
                return ast.DateLit(self.ev.as_of - dt.timedelta(days=days), v.span)
            except OverflowError:
                raise SegflowError(Diagnostic(None, v.span.line, v.span.col, "date out of range "
                                              "(years 1 to 9999)", "compile", v.span.end_col)) from None

        match expr:
            case ast.Compare(op=op, value=value):
                return self._date(col, ast.Compare(ast.Field(fdef.name), _FLIP[op], day(value)))
            case ast.InList(values=values):
                days = ast.ListLit(tuple(day(v) for v in values.items))
                return self._date(col, ast.InList(ast.Field(fdef.name), days))
            case ast.Between(low=low, high=high):
                return self._date(col, ast.Between(ast.Field(fdef.name), day(high), day(low)))
        raise TypeError(expr)  # pragma: no cover

    def _day(self, value: ast.Value) -> dt.date:
        try:
            day = self.ev.resolve(value)  # type: ignore[arg-type]
            day + dt.timedelta(days=1)  # day boundaries need the next day too
            return day
        except (SegflowError, OverflowError):
            span = value.span
            raise SegflowError(Diagnostic(None, span.line, span.col, "date out of range (years 1 "
                                          "to 9999)", "compile", span.end_col)) from None

    # ------------------------------------------------------------------ orders

    def _order_condition(self, expr: ast.Expr) -> Pred:
        """A condition on one order (inside `orders[...]` or behind a scope)."""
        match expr:
            case ast.BoolOp(op="and", operands=ops):
                return _and([self._order_condition(o) for o in ops])
            case ast.BoolOp(op="or", operands=ops):
                return _or([self._order_condition(o) for o in ops])
            case ast.BoolOp(op="except", operands=(first, *rest)):
                return _and([self._order_condition(first),
                             *(_not(self._order_condition(o)) for o in rest)])
            case ast.Not(operand=operand):
                return _not(self._order_condition(operand))
        return self._atom(expr, customer=False)

    def _scope_filter(self, scope: str) -> exp.Expression | None:
        idx = lambda: n.column("customer_order_index", ORDER)  # noqa: E731
        match scope:
            case "first_order":
                return n.eq(idx(), 1)
            case "second_order":
                return n.eq(idx(), 2)
            case "later_orders":
                return n.binary(exp.GTE, idx(), 2)
            case order_position.PREVIOUS:
                return order_position.previous_filter(lambda c: n.column(c, ORDER))
        return None

    def _fact(self, key: ast.Expr | ast.Operand, build) -> exp.Column:
        """The facts column of an order-level aggregate, built and named once per compiler.

        Identical conditions recur across segments; the key is the node's repr, which (unlike
        its equality) tells `1.0` from `1`, so equal keys always compile to the same SQL.
        """
        memo = repr(key)
        name = self._facts_memo.get(memo)
        if name is None:
            name = self._facts_memo[memo] = self.facts.aggregate(*build()).name
        return n.column(name, FACTS)

    def _existential(self, operand: ast.Scoped | ast.NthScoped, expr: ast.Expr) -> Pred:
        last = operand.scope == "last_order"
        fact = self._fact(expr, lambda: self._existential_fact(operand, expr))
        if last:
            # the last order as of the day is the one whose index equals the order count
            return Pred(n.eq(fact, n.column("order_count", FACTS)), True)
        return Pred(n.eq(fact, 1), False)

    def _existential_fact(self, operand: ast.Scoped | ast.NthScoped, expr: ast.Expr):
        fdef = ORDER_NAMESPACE[operand.name]
        match_ = self._field(fdef, _with_operand(expr, ast.Field(operand.name)))
        if operand.scope == "last_order":
            highest = exp.Max(this=exp.Case(ifs=[exp.If(
                this=match_.sql, true=n.column("customer_order_index", ORDER))]))
            return highest, None
        cond = match_.sql
        if isinstance(operand, ast.NthScoped):
            scope = order_position.nth_filter(int(operand.number), lambda c: n.column(c, ORDER))
        else:
            scope = self._scope_filter(operand.scope)
        if scope is not None:
            cond = n.and_(scope, cond)
        flag = exp.Max(this=exp.Case(ifs=[exp.If(this=cond, true=n.number(1))], default=n.number(0)))
        return flag, n.number(0), order_position.relation(operand.scope)

    def _aggregate(self, operand: ast.Aggregate) -> exp.Expression:
        return self._fact(operand, lambda: self._aggregate_fact(operand))

    def _aggregate_fact(self, operand: ast.Aggregate):
        return self._set_fact(operand.scope, operand.func,
                              self._order_condition(operand.where).sql)

    def _set_fact(self, scope_name: str, func: str, cond: exp.Expression | None):
        """`scope[cond].func` (no `cond`: the whole set) as an aggregate over the orders."""
        scope = self._scope_filter(scope_name)
        if scope is not None:
            cond = scope if cond is None else n.and_(scope, cond)
        if cond is None:
            cond = exp.true()
        if func == "count":
            agg = exp.Count(this=exp.Case(ifs=[exp.If(this=cond, true=n.number(1))]))
        else:
            agg = exp.Sum(this=exp.Case(ifs=[exp.If(this=cond, true=n.column("net_amount", ORDER))],
                                        default=n.number(0)))
        return agg, n.number(0), order_position.relation(scope_name)


def _positive(expr: ast.Expr) -> ast.Expr:
    """The positive form of a negated atom (`!=` -> `=`, `not in` -> `in`, ...)."""
    match expr:
        case ast.Compare(op="!="):
            return ast.Compare(expr.operand, "=", expr.value, expr.span)
        case ast.InList(negated=True):
            return ast.InList(expr.operand, expr.values, False, expr.span)
        case ast.IsSet(negated=True):
            return ast.IsSet(expr.operand, False, expr.span)
    return expr


def _with_operand(expr: ast.Expr, operand: ast.Operand) -> ast.Expr:
    import dataclasses

    return dataclasses.replace(expr, operand=operand)  # type: ignore[type-var]


__all__ = ["FLAGS", "Pred", "PredicateCompiler"]
