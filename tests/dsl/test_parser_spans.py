"""Positions the parser gives nodes (built while Lark reduces, from tokens): a node runs from its
first token to its last, punctuation included; a parenthesised operand keeps its own span while
the enclosing node reaches to the parentheses."""

from __future__ import annotations

import pytest

from segflow.dsl import ast
from segflow.dsl.parser import parse
from segflow.errors import SegflowError

TEXT = """\
segment s {  # c1
  groups = [a, b]
  where (x = 1 or y in [1, 2]) and not first_order.product = "P"
    and orders[date >= today - 30d].count >= 2
}
"""


def test_spans_run_from_first_to_last_token():
    source = parse(TEXT)
    decl = source.decls[0]
    assert decl.span == ast.Span(1, 1, 5, 2) and decl.name_span == ast.Span(1, 9, 1, 10)
    groups = decl.attr("groups")
    assert groups.span == ast.Span(2, 3, 2, 18)
    assert groups.value.span == ast.Span(2, 12, 2, 18)
    assert groups.value.item_spans == (ast.Span(2, 13, 2, 14), ast.Span(2, 16, 2, 17))
    where = decl.where
    assert where.span == ast.Span(3, 3, 4, 47)
    expr = where.expr
    assert isinstance(expr, ast.BoolOp) and expr.op == "and"
    assert expr.span == ast.Span(3, 9, 4, 47)  # starts at '(' of the first operand
    paren, negated, counted = expr.operands
    assert paren.op == "or" and paren.span == ast.Span(3, 10, 3, 30)  # inside the parentheses
    assert paren.operands[1].values.span == ast.Span(3, 24, 3, 30)
    assert negated.span == ast.Span(3, 36, 3, 65)
    assert negated.operand.operand.scope_span == ast.Span(3, 40, 3, 51)
    agg = counted.operand
    assert agg.span == ast.Span(4, 9, 4, 42) and agg.func_span == ast.Span(4, 37, 4, 42)
    offset = agg.where.value
    assert offset.span == ast.Span(4, 24, 4, 35) and offset.duration.span == ast.Span(4, 32, 4, 35)
    assert source.comments == (ast.Comment("# c1", 1, 14, False),)


def test_a_syntax_error_after_a_bad_value_is_the_one_reported():
    with pytest.raises(SegflowError) as err:
        parse('segment s { where d = 2024-02-30 and }\n')
    assert [(d.line, d.col, d.code) for d in err.value.diagnostics] == [(1, 38, "syntax")]
    with pytest.raises(SegflowError) as err:
        parse('segment s { where d = 2024-02-30 }\n')
    (d,) = err.value.diagnostics
    assert (d.line, d.col, d.message) == (1, 23, "invalid date 2024-02-30: no such day")
