"""The canonical formatter: snapshots of messy files, round-trip and idempotence properties,
comment preservation, and a parser fuzz test (only SegflowError, always with a position)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from segflow.dsl import ast
from segflow.dsl.formatter import ATTR_ORDER, canonical, format_source, format_text
from segflow.dsl.parser import parse
from segflow.errors import SegflowError

# ---------------------------------------------------------------- snapshots of messy inputs

MESSY = {
    "design_example": """\
# segments/lifecycle.seg
group lifecycle {
  title = "Customer lifecycle (RFM)"
}

segment loyals {
  title  = "Loyal customers"
  groups = [lifecycle]
  tag    = "seg-loyal"                     # kept in sync as a Shopify customer tag
  where order_count >= 5 and days_since_last_order <= 90
}

segment starter_then_beans {
  where first_order.product = "Coffee Starter Kit"
    and later_orders.product = "Coffee Beans Refill"
}

segment big_recent_buyers {
  where orders[date >= today - 365d].count >= 3 and total_spent >= 500
}

segment loyal_but_slipping {
  where segment loyals and not segment active      # AND / OR / EXCEPT between segments
}

segment wholesale {
  list = "lists/wholesale.csv"                     # static: customer ids or emails
}
""",
    "all_attributes_shuffled": '''\
segment   vip{owner="ops" list =   "lists/vip.csv"
tag="vip" groups=[lifecycle,  value ,] description="""Spent a lot,
and came back recently"""
   where total_spent>=1000 title="V.I.P. \\"gold\\"\\tcustomers"}
group empty{}
group g2 { title = "tab\\there" description = "two\\nlines with a \\"quote\\"" }
''',
    "every_comparison": """\
segment every {
where email contains "@example.com" and email starts with "vip" and country in ["FR","DE",]
and city not in [] and tags is set and province is not set and accepts_marketing
and created between 2024-01-01 and today - 1y + 2w and first_order.date < 2024-03-01
and orders[source = "pos" or source = "web"].total > 99.90 and average_order_value != -3.50
and purchase_interval <= 30 and days_since_first_order > 0 and last_order.discount_code = false
and later_orders.product = "Café" and orders[not (a and b)].count >= 1.0
}
""",
    "nesting": """\
segment nest {
  where not (segment a or segment b) and (x = 1 or (y = 2 and z = 3))
      except (segment c except segment d) except segment e
}
segment nots { where not not a and not (b except c) or (d except e) }
segment paren_heavy { where ((((a = 1)))) and (((b = 2) or c = 3)) }
segment agg { where orders[(date >= today - 30d and total > 10) except source = "pos"].count >= 2 }
""",
    "long_where_breaks": """\
segment long_and {
  where orders[date >= today - 365d].count >= 3 and total_spent >= 500.00 and email contains "@" and country in ["FR", "DE", "IT"]
}
segment long_or { where first_order.product = "Coffee Starter Kit" or later_orders.product = "Coffee Beans Refill" or tags contains "coffee" }
segment long_except { where segment all_customers_with_a_really_long_segment_name except segment another_long_segment_name except segment third }
""",
    "comments_everywhere": """\
# leading file comment
# second line

segment a   # on the header
{
  # before tag
  tag = "t"  # after tag
  groups = [one,  # inside the list
     # own line inside the list
     two]
  title = "A"
  # before where
  where x = 1   # after first operand
    # before second operand
    and (y = 2  # inside parentheses
         # own line in parentheses
         or z = 3)  # after the parenthesis
    and w = 4 # last
  # end of block
}  # after the brace

# between declarations

group g {
  # only a comment
}
segment one_line { where a and b }  # after a one-liner
segment trailing_where {
  where a and b # trailing whole rule
}
# end of file
""",
    "comments_only": """\
   # just a comment

# and another
""",
}


@pytest.mark.parametrize("name", sorted(MESSY))
def test_snapshot(name, snapshot):
    text = MESSY[name]
    out = format_text(text)
    assert out == snapshot
    assert format_text(out) == out
    assert parse(out) == canonical(parse(text))
    assert _comment_texts(out) == _comment_texts(text)


def test_empty_file_formats_to_empty_string():
    assert format_text("") == ""
    assert format_text("\n\n   \n") == ""


def test_output_ends_with_one_newline_and_blank_lines_between_decls():
    out = format_text("group a {}\n\n\n\nsegment b { where x }\n\n\n")
    assert out == "group a {\n}\n\nsegment b {\n  where x\n}\n"


def test_attribute_order_is_canonical_and_stable():
    out = format_text('segment s { z = "1" list = "l" tag = "t" a = "2" title = "T" tag = "u" }')
    names = [line.split(" = ")[0].strip() for line in out.splitlines()[1:-1]]
    assert names == ["title", "tag", "tag", "list", "z", "a"]


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("plain", '"plain"'),
        ('q"uote', '"q\\"uote"'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\there", '"tab\\there"'),
        ("two\nlines", '"""two\nlines"""'),
        ('two\nlines "quoted"', '"two\\nlines \\"quoted\\""'),
        ("trailing \nblank", '"trailing \\nblank"'),
        ("hash\n# not a comment", '"""hash\n# not a comment"""'),
    ],
)
def test_attribute_strings(value, printed):
    decl = ast.GroupDecl("g", (ast.Attr("title", ast.StringLit(value)),))
    out = format_source(ast.SourceFile("<t>", (decl,)))
    assert out == f"group g {{\n  title = {printed}\n}}\n"
    assert parse(out).decls == (decl,)
    assert parse(out).comments == ()


def test_strings_in_rules_never_use_long_form():
    out = format_text('segment s { where note = """a\nb""" }')
    assert out == 'segment s {\n  where note = "a\\nb"\n}\n'


def test_numbers_keep_their_exact_text():
    out = format_text("segment s { where a = 500.00 and b = -3 and c = 0.50 and d = 007 }")
    assert "a = 500.00 and b = -3 and c = 0.50 and d = 7" in out


@pytest.mark.parametrize(
    ("rule", "printed"),
    [
        ("a except (b except c)", "a except (b except c)"),
        ("(a except b) except c", "a except b except c"),
        ("a and (b and c)", "a and b and c"),
        ("a or (b or c)", "a or b or c"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or b and c", "a or b and c"),
        ("not (a and b)", "not (a and b)"),
        ("not (not a)", "not not a"),
        ("(a except b) or c", "(a except b) or c"),
        ("a except b or c", "a except b or c"),
        ("(not a) and b", "not a and b"),
        ("x   between 1 and 2 and y", "x between 1 and 2 and y"),
    ],
)
def test_minimal_parentheses(rule, printed):
    out = format_text(f"segment s {{ where {rule} }}")
    assert out == f"segment s {{\n  where {printed}\n}}\n"
    assert parse(out) == parse(f"segment s {{ where {rule} }}")


def test_long_where_breaks_at_top_level_operator():
    rule = " and ".join(f"field_number_{i} >= {i}" for i in range(8))
    out = format_text(f"segment s {{ where {rule} }}")
    lines = out.splitlines()
    assert lines[1] == "  where field_number_0 >= 0"
    assert lines[2:-1] == [f"    and field_number_{i} >= {i}" for i in range(1, 8)]
    short = format_text("segment s { where a and b }")
    assert short.splitlines()[1] == "  where a and b"


def test_where_line_of_exactly_100_columns_stays_on_one_line():
    head = "  where a = 1 and "
    name = "b" * (100 - len(head) - len(" = 1"))
    out = format_text(f"segment s {{ where a = 1 and {name} = 1 }}")
    assert len(out.splitlines()[1]) == 100
    out = format_text(f"segment s {{ where a = 1 and {name}x = 1 }}")
    assert out.splitlines()[2] == f"    and {name}x = 1"


# ---------------------------------------------------------------- comments survive


def _comment_texts(text: str) -> Counter:
    return Counter(c.text for c in parse(text).comments)


COMMENT_LAYOUTS = [
    "# only\n",
    "segment s { # a\n} # b\n",
    "segment s {\n  where a # one\n  and b # two\n  and c # three\n}\n",
    "segment s {\n  where a and b # whole\n}\n",
    "segment s {\n  where # kw\n    a\n}\n",
    "segment s {\n  where a and # after op\n    b\n}\n",
    "segment s {\n  where (\n    # in\n    a or b\n    # before close\n  ) and c\n}\n",
    "segment s {\n  where orders[ # x\n  a = 1 # y\n  ].count > 1\n}\n",
    "segment s\n# between name and brace\n{\n}\n",
    "segment s {\n  groups = [\n    a, # a\n    # b\n    b, # c\n  ] # d\n}\n",
    'segment s { title = """x\n# y\n""" # z\n}\n',
    "group a {} # x\ngroup b {} # y\n# z\n",
    "segment s { where a } # x\n# y\nsegment t {\n# z\n}\n",
    "segment s {\n  where a\n  # mid\n  except b\n}\n",
    "segment s {\n  where a = 1 # one\n}\nsegment t { where b # two\n}\n",
]


@pytest.mark.parametrize("text", COMMENT_LAYOUTS)
def test_comments_survive(text):
    out = format_text(text)
    assert _comment_texts(out) == _comment_texts(text)
    assert format_text(out) == out
    assert parse(out) == canonical(parse(text))


def test_comment_attachment_examples():
    out = format_text("segment s {\n  where a # one\n  and b\n}\n")
    assert out == "segment s {\n  where a  # one\n    and b\n}\n"
    out = format_text("segment s {\n  where a and b # whole\n}\n")
    assert out == "segment s {\n  where a and b  # whole\n}\n"
    out = format_text("segment s {\n  # lead\n  where a and b\n}\n")
    assert out == "segment s {\n  # lead\n  where a and b\n}\n"
    out = format_text('segment s {\n  tag = "x"\n  # lead\n  title = "y"\n}\n')
    assert out == 'segment s {\n  # lead\n  title = "y"\n  tag = "x"\n}\n'


# ---------------------------------------------------------------- generated syntax trees

NAMES = st.sampled_from(["email", "order_count", "total_spent", "tags", "x", "a_1", "_y"])
SCOPES = st.sampled_from(["orders", "first_order", "later_orders", "previous_order",
                          "cancelled_orders"])
FUNCS = st.sampled_from(["count", "total"])

numbers = st.one_of(
    st.from_regex(r"-?[0-9]{1,7}(\.[0-9]{1,4})?", fullmatch=True).map(Decimal),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, max_value=10**9, min_value=-(10**9)
    ),
)
dates = st.dates(min_value=dt.date(1000, 1, 1))
durations = st.builds(ast.Duration, st.integers(0, 100_000), st.sampled_from("dwmy"))
date_values = st.recursive(
    st.one_of(st.builds(ast.DateLit, dates), st.just(ast.Today())),
    lambda base: st.builds(ast.DateOffset, base, st.sampled_from("+-"), durations),
    max_leaves=4,
)
# what a string can hold: anything but control characters (a tab and a line break aside, which
# the formatter writes as escapes)
_CONTROL = "".join(chr(c) for c in [*range(0x20), 0x7F] if chr(c) not in "\t\n")
strings = st.builds(ast.StringLit, st.text(st.characters(exclude_characters=_CONTROL,
                                                         exclude_categories=("Cs",)), max_size=12))
values = st.one_of(
    strings,
    st.builds(ast.NumberLit, numbers),
    st.builds(ast.BoolLit, st.booleans()),
    date_values,
)


def _not_op(op):
    return lambda e: not (isinstance(e, ast.BoolOp) and e.op == op)


def _exprs(children):
    operands = st.one_of(
        st.builds(ast.Field, NAMES),
        st.builds(ast.Scoped, SCOPES, NAMES),
        st.builds(ast.Aggregate, SCOPES, children, FUNCS),
        # nth: `order(3).product`, any number the parser reads back
        st.builds(ast.NthScoped, st.just("order") | NAMES, numbers, NAMES),
        # lines: `scope[...].func(field)` and `scope.func(field)` (issue 19.4)
        st.builds(ast.AggregateOf, SCOPES, st.one_of(st.none(), children), FUNCS, NAMES),
    )
    atoms = st.one_of(
        st.builds(
            ast.Compare,
            operands,
            st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "contains", "starts with"]),
            values,
        ),
        st.builds(
            ast.InList,
            operands,
            st.builds(ast.ListLit, st.lists(values, max_size=3).map(tuple)),
            st.booleans(),
        ),
        st.builds(ast.Between, operands, values, values),
        st.builds(ast.IsSet, operands, st.booleans()),
        st.builds(ast.Truthy, operands),
    )
    return st.one_of(
        atoms,
        st.builds(ast.Not, children),
        st.builds(
            ast.BoolOp,
            st.just("and"),
            st.lists(children.filter(_not_op("and")), min_size=2, max_size=4).map(tuple),
        ),
        st.builds(
            ast.BoolOp,
            st.just("or"),
            st.lists(children.filter(_not_op("or")), min_size=2, max_size=4).map(tuple),
        ),
        st.builds(
            lambda first, rest: ast.BoolOp("except", (first, *rest)),
            children.filter(_not_op("except")),
            st.lists(children, min_size=1, max_size=3),
        ),
    )


leaf_exprs = st.one_of(
    st.builds(ast.SegmentRef, NAMES),
    st.builds(ast.Truthy, st.builds(ast.Field, NAMES)),
    st.builds(ast.Compare, st.builds(ast.Field, NAMES), st.just("="), values),
)
exprs = st.recursive(leaf_exprs, _exprs, max_leaves=12)

attr_values = st.one_of(
    strings,
    st.builds(ast.NameList, st.lists(NAMES, max_size=3).map(tuple)),
)
attrs = st.lists(
    st.builds(ast.Attr, st.sampled_from([*ATTR_ORDER, "owner", "note"]), attr_values), max_size=4
).map(lambda a: canonical_attrs_sorted(tuple(a)))


def canonical_attrs_sorted(items):
    return canonical(ast.SourceFile("", (ast.GroupDecl("g", items),))).decls[0].attrs


decls = st.one_of(
    st.builds(ast.GroupDecl, NAMES, attrs),
    st.builds(ast.SegmentDecl, NAMES, attrs, st.none() | st.builds(ast.Where, exprs)),
)
sources = st.builds(
    lambda ds: ast.SourceFile("<generated>", tuple(ds)), st.lists(decls, max_size=3)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources)
def test_generated_trees_round_trip(source):
    out = format_source(source)
    assert parse(out).decls == source.decls
    assert format_text(out) == out
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources, st.data())
def test_generated_trees_with_random_comments(source, data):
    """Scatter comments and line breaks over the formatted text; all of them must survive."""
    base = format_source(source)
    chars, inserted = list(base), []
    spots = [i for i, ch in enumerate(base) if ch in " \n"]
    assume(spots)
    for i in sorted(data.draw(st.sets(st.sampled_from(spots), max_size=6)), reverse=True):
        text = f"# c{len(inserted)}"
        inserted.append(text)
        own = data.draw(st.booleans())
        chars[i] = f"\n{text}\n" if own else f"  {text}\n"
    messy = "".join(chars)
    try:
        parsed = parse(messy)
    except SegflowError:  # a break landed inside a string
        assume(False)
    assume(parsed.decls == source.decls and len(parsed.comments) == len(inserted))
    out = format_text(messy)
    assert _comment_texts(out) == Counter(inserted)
    assert parse(out).decls == source.decls
    assert format_text(out) == out


# ---------------------------------------------------------------- parser fuzz

TOKENS = [
    "segment",
    "group",
    "where",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    "!=",
    "<",
    "<=",
    ">=",
    ",",
    ".",
    "and",
    "or",
    "not",
    "except",
    "in",
    "contains",
    "starts",
    "with",
    "is",
    "set",
    "between",
    "true",
    "false",
    "today",
    "-",
    "+",
    "30d",
    "12w",
    "2024-03-01",
    "2024-02-30",
    "5",
    "-3.5",
    "x",
    "orders",
    "title",
    '"s"',
    '"""long\nstring"""',
    '"bad\\q"',
    "# c",
    "\n",
    '"',
    "999999999d",
    "@",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join)


def _check_parse(text: str) -> None:
    try:
        source = parse(text, "fuzz.seg")
    except SegflowError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.line is not None and d.line >= 1, d
            assert d.col is not None and d.col >= 1, d
        return
    out = format_source(source)
    assert parse(out).decls == canonical(source).decls
    assert format_text(out) == out
    assert _comment_texts(out) == Counter(c.text for c in source.comments)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_arbitrary_text(text):
    _check_parse(text)


@settings(max_examples=300, deadline=None)
@given(token_soup)
def test_parse_token_soup(text):
    _check_parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# header\n# two\n\nsegment a { where x }\n", "# header\n# two\n\nsegment a {\n"),
        ("# header\n\n\n# about a\nsegment a { where x }\n", "# header\n\n# about a\nsegment a {\n"),
        ("# about a\nsegment a { where x }\n", "# about a\nsegment a {\n"),
    ],
)
def test_blank_line_after_the_file_header_comment_is_kept(text, expected):
    out = format_text(text)
    assert out.startswith(expected)
    assert format_text(out) == out
