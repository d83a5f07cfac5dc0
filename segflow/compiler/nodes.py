"""sqlglot node builders that take ownership of their arguments.

sqlglot's builder helpers (`exp.and_`, `Expression.eq`, `.where()`, `exp.cast(x, "DATE")`, ...)
copy every argument and parse strings (type and table names) on each call, which made copying
~60 % of compile time. The compiler builds every node it passes here itself and never reuses one
in two places (it copies explicitly where it must), so these build the same trees without copies
or parsing. The rendered SQL is identical to what the sqlglot helpers produce.
"""

from __future__ import annotations

from sqlglot import exp

DType = exp.DataType.Type


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name)  # type: ignore[return-value]


def column(name: str, table: str | None = None) -> exp.Column:
    if table is None:
        return exp.Column(this=ident(name))
    return exp.Column(this=ident(name), table=ident(table))


def table(name: str, alias: str | None = None) -> exp.Table:
    """`schema.name AS alias` (no parsing of the dotted name)."""
    schema, _, bare = name.rpartition(".")
    node = exp.Table(this=ident(bare))
    if schema:
        node.set("db", ident(schema))
    if alias is not None:
        node.set("alias", ident(alias))
    return node


def alias(expression: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=expression, alias=ident(name))


def number(value: int | str) -> exp.Literal:
    return exp.Literal(this=str(value), is_string=False)


def cast(expression: exp.Expression, to: exp.DataType.Type) -> exp.Cast:
    return exp.Cast(this=expression, to=exp.DataType(this=to, nested=False))


def _operand(value) -> exp.Expression:
    return value if isinstance(value, exp.Expression) else exp.convert(value, copy=False)


def binary(klass: type[exp.Binary], this: exp.Expression, other) -> exp.Binary:
    """`this <op> other`, parenthesising binary operands as `Expression._binop` does."""
    other = _operand(other)
    if not isinstance(this, klass) and not isinstance(other, klass):
        this = exp.Paren(this=this) if isinstance(this, exp.Binary) else this
        other = exp.Paren(this=other) if isinstance(other, exp.Binary) else other
    return klass(this=this, expression=other)


def eq(this: exp.Expression, other) -> exp.EQ:
    return binary(exp.EQ, this, other)  # type: ignore[return-value]


def is_null(expression: exp.Expression) -> exp.Is:
    return exp.Is(this=expression, expression=exp.Null())


def is_not_null(expression: exp.Expression) -> exp.Not:
    return exp.Not(this=is_null(expression))


def and_(*conditions: exp.Expression) -> exp.Expression:
    return _combine(conditions, exp.And)


def or_(*conditions: exp.Expression) -> exp.Expression:
    return _combine(conditions, exp.Or)


def _combine(conditions, operator) -> exp.Expression:
    """As `exp.and_` / `exp.or_`: a left-deep chain, operands that are and/or in parentheses."""
    wrap = lambda e: exp.Paren(this=e) if isinstance(e, exp.Connector) else e  # noqa: E731
    this, *rest = conditions
    if rest:
        this = wrap(this)
    for expression in rest:
        this = operator(this=this, expression=wrap(expression))
    return this


def paren(expression: exp.Expression) -> exp.Paren:
    return exp.Paren(this=expression)


def not_(expression: exp.Expression) -> exp.Not:
    return exp.Not(this=exp.Paren(this=expression) if isinstance(expression, exp.Connector)
                   else expression)
