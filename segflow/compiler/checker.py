"""Name resolution and type checking of parsed segment files.

The checker never stops at the first problem: it walks every declaration of every file and
returns all diagnostics, so one `seg validate` run shows everything to fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from segflow.compiler import order_position, sets
from segflow.compiler.catalog import (
    AGGREGATES,
    CUSTOMER_NAMESPACE,
    ORDER_NAMESPACE,
    SCOPES,
    FieldDef,
)
from segflow.compiler.types import BETWEEN_TYPES, COMPARE_OPS, IN_TYPES, Type, value_type_for
from segflow.dsl import ast
from segflow.errors import Diagnostic

SEGMENT_ATTRS = ("title", "description", "groups", "tag", "list")
GROUP_ATTRS = ("title", "description")
MAX_TAG_LENGTH = 255  # Shopify's limit for one tag


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" — did you mean '{match[0]}'?" if match else ""


@dataclass
class Checker:
    """Collects diagnostics for a set of parsed files."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    _source: ast.SourceFile | None = None
    # declarations of files with syntax errors that did not parse: (kind, name)
    _unparsed: set[tuple[str, str]] = field(default_factory=set)

    def error(self, span: ast.Span, message: str, code: str) -> None:
        src = self._source
        assert src is not None
        line = span.line or None
        self.diagnostics.append(
            Diagnostic(
                src.path,
                line,
                span.col or None,
                message,
                code,
                span.end_col if span.end_line == span.line else None,
                src.line(line) if line else None,
            )
        )

    # ------------------------------------------------------------------ declarations

    def check(self, files: list[ast.SourceFile]) -> list[Diagnostic]:
        segments: dict[str, tuple[ast.SourceFile, ast.SegmentDecl]] = {}
        groups: dict[str, tuple[ast.SourceFile, ast.GroupDecl]] = {}
        for src in files:
            self._source = src
            self._unparsed.update(src.unparsed)
            for decl in src.decls:
                table = segments if isinstance(decl, ast.SegmentDecl) else groups
                if decl.name in table:
                    first_src, first = table[decl.name]
                    self.error(
                        decl.name_span,
                        f"duplicate {decl.kind} id '{decl.name}' (first declared at "
                        f"{first_src.path}:{first.name_span.line})",
                        "duplicate-id",
                    )
                else:
                    table[decl.name] = (src, decl)
        for src in files:
            self._source = src
            for decl in src.decls:
                if isinstance(decl, ast.GroupDecl):
                    self._check_attrs(decl, GROUP_ATTRS)
                else:
                    self._check_segment(decl, segments, groups)
        self._check_cycles(segments)
        self._check_inlined_size(segments)
        return sorted(self.diagnostics, key=lambda d: (d.file or "", d.line or 0, d.col or 0))

    def _check_attrs(self, decl: ast.Decl, allowed: tuple[str, ...]) -> None:
        seen: set[str] = set()
        for attr in decl.attrs:
            if attr.name not in allowed:
                self.error(
                    attr.span,
                    f"unknown {decl.kind} attribute '{attr.name}'{did_you_mean(attr.name, allowed)}"
                    f" (known: {', '.join(allowed)})",
                    "unknown-attribute",
                )
                continue
            if attr.name in seen:
                self.error(attr.span, f"attribute '{attr.name}' is set twice", "duplicate-attribute")
            seen.add(attr.name)
            wants_list = attr.name == "groups"
            if wants_list and not isinstance(attr.value, ast.NameList):
                self.error(attr.value.span, "'groups' is a list of group ids, e.g. [lifecycle]",
                           "type-mismatch")
            elif not wants_list and not isinstance(attr.value, ast.StringLit):
                self.error(attr.value.span, f"'{attr.name}' is a string, e.g. \"...\"",
                           "type-mismatch")

    def _check_segment(self, decl: ast.SegmentDecl, segments, groups) -> None:
        self._check_attrs(decl, SEGMENT_ATTRS)
        groups_attr = decl.attr("groups")
        if groups_attr is not None and isinstance(groups_attr.value, ast.NameList):
            for name, span in zip(groups_attr.value.items, groups_attr.value.item_spans, strict=False):
                if name not in groups and ("group", name) not in self._unparsed:
                    self.error(span, f"unknown group '{name}'{did_you_mean(name, groups)}",
                               "unknown-group")
        tag = decl.attr("tag")
        if tag is not None and isinstance(tag.value, ast.StringLit):
            self._check_tag(tag.value)
        list_attr = decl.attr("list")
        if decl.where is None and list_attr is None:
            self.error(decl.name_span, f"segment '{decl.name}' needs a rule (`where ...`) or a "
                       "static list (`list = \"lists/file.csv\"`)", "missing-rule")
        if decl.where is not None and list_attr is not None:
            self.error(list_attr.span, "a segment has either a rule (`where`) or a static "
                       "`list`, not both", "rule-and-list")
        if (list_attr is not None and isinstance(list_attr.value, ast.StringLit)
                and not list_attr.value.value.strip()):
            self.error(list_attr.value.span, "'list' needs the path of a CSV file", "bad-value")
        if decl.where is not None:
            self._check_expr(decl.where.expr, CUSTOMER_NAMESPACE, segments, decl.name)

    def _check_tag(self, value: ast.StringLit) -> None:
        tag = value.value
        if not tag.strip():
            self.error(value.span, "'tag' must not be empty", "bad-tag")
        elif "," in tag:
            self.error(value.span, "a Shopify tag cannot contain a comma", "bad-tag")
        elif len(tag) > MAX_TAG_LENGTH:
            self.error(value.span, f"a Shopify tag has at most {MAX_TAG_LENGTH} characters "
                       f"(this one has {len(tag)})", "bad-tag")
        elif tag != tag.strip():
            self.error(value.span, "a tag must not start or end with spaces", "bad-tag")

    def _check_cycles(self, segments) -> None:
        for cycle, src, ref in _find_cycles(segments):
            self._source = src
            self.error(ref.span, f"segment reference cycle: {_cycle_text(cycle)}", "cycle")

    def _check_inlined_size(self, segments) -> None:
        """A rule with the rules it refers to inlined (as the compiler does) stays bounded."""
        for src, ref, what in inlining_problems(segments):
            self._source = src
            self.error(ref.span, what, "too-deep")

    # ------------------------------------------------------------------ expressions

    def _check_expr(self, expr: ast.Expr, namespace, segments, owner: str | None) -> None:
        in_orders = namespace is ORDER_NAMESPACE
        match expr:
            case ast.BoolOp(operands=operands):
                for operand in operands:
                    self._check_expr(operand, namespace, segments, owner)
            case ast.Not(operand=operand):
                self._check_expr(operand, namespace, segments, owner)
            case ast.SegmentRef(name=name, span=span):
                if in_orders or namespace is sets.LINE_NAMESPACE:
                    self.error(span, "a segment reference cannot be used inside an order "
                               "filter", "misplaced-segment")
                elif name == owner:
                    self.error(span, f"segment '{name}' refers to itself", "cycle")
                elif name not in segments and ("segment", name) not in self._unparsed:
                    self.error(span, f"unknown segment '{name}'{did_you_mean(name, segments)}",
                               "unknown-segment")
            case ast.Truthy(operand=operand, span=span):
                ftype = self._operand_type(operand, namespace, segments)
                if ftype is not None and ftype is not Type.BOOLEAN:
                    self.error(span, f"'{_operand_text(operand)}' is a {ftype.value}, not a "
                               "condition: compare it, e.g. "
                               f"`{_operand_text(operand)} {_example_op(ftype)}`",
                               "not-a-condition")
            case ast.Compare(operand=operand, op=op, value=value, span=span):
                ftype = self._operand_type(operand, namespace, segments)
                if ftype is None:
                    return
                if op not in COMPARE_OPS[ftype]:
                    self.error(span, f"operator '{op}' does not apply to "
                               f"'{_operand_text(operand)}' ({ftype.value}); use "
                               f"{_ops_text(ftype)}", "bad-operator")
                    return
                self._check_value(value, ftype, operand)
            case ast.InList(operand=operand, values=values, span=span):
                ftype = self._operand_type(operand, namespace, segments)
                if ftype is None:
                    return
                if ftype not in IN_TYPES:
                    self.error(span, f"'in' does not apply to '{_operand_text(operand)}' "
                               f"({ftype.value})", "bad-operator")
                    return
                if not values.items:
                    self.error(values.span, "the list is empty", "bad-value")
                for item in values.items:
                    self._check_value(item, ftype, operand)
            case ast.Between(operand=operand, low=low, high=high, span=span):
                ftype = self._operand_type(operand, namespace, segments)
                if ftype is None:
                    return
                if ftype not in BETWEEN_TYPES:
                    self.error(span, f"'between' does not apply to '{_operand_text(operand)}' "
                               f"({ftype.value})", "bad-operator")
                    return
                ok = self._check_value(low, ftype, operand) & self._check_value(high, ftype, operand)
                if ok and isinstance(low, ast.NumberLit) and isinstance(high, ast.NumberLit) \
                        and low.value > high.value:
                    self.error(span, f"empty range: {low.value} is greater than {high.value}",
                               "empty-range")
            case ast.IsSet(operand=operand):
                self._operand_type(operand, namespace, segments)

    def _operand_type(self, operand: ast.Operand, namespace, segments) -> Type | None:
        in_orders = namespace is ORDER_NAMESPACE
        if sets.handles(operand, namespace):  # lines[...], set aggregates beyond count / total
            return sets.check_operand(self, operand, namespace, segments)
        match operand:
            case ast.Field(name=name, span=span):
                fdef = namespace.get(name)
                if fdef is not None:
                    return fdef.type
                self._unknown_field(name, span, namespace, segments)
                return None
            case ast.Scoped(scope=scope, name=name, scope_span=scope_span, name_span=name_span):
                if in_orders:
                    self.error(scope_span, f"'{scope}.{name}' cannot be used inside an order "
                               f"filter; write '{name}'", "misplaced-scope")
                    return None
                if not self._check_scope(scope, scope_span, name):
                    return None
                fdef = ORDER_NAMESPACE.get(name)
                if fdef is not None:
                    return fdef.type
                if order_position.whole_set(operand):
                    return AGGREGATES[name][0]
                if name in AGGREGATES:
                    self.error(name_span, f"'{name}' needs a filtered order set: write "
                               f"{scope}[<condition>].{name}"
                               + (", or use order_count" if name == "count" else ""),
                               "unknown-field")
                    return None
                self.error(name_span, f"unknown order field '{name}'"
                           f"{did_you_mean(name, ORDER_NAMESPACE)}", "unknown-field")
                return None
            case ast.NthScoped():
                return self._nth_type(operand, in_orders)
            case ast.Aggregate(scope=scope, where=where, func=func, scope_span=scope_span,
                               func_span=func_span):
                if in_orders:
                    self.error(scope_span, "an order set cannot be nested inside an order filter",
                               "misplaced-scope")
                    return None
                ok = self._check_scope(scope, scope_span, None)
                if ok and not SCOPES[scope].aggregatable:
                    self.error(scope_span, f"'{scope}' is a single order; count or total a set: "
                               "orders[...] or later_orders[...]", "bad-scope")
                    ok = False
                self._check_expr(where, ORDER_NAMESPACE, segments, None)
                if func not in AGGREGATES:
                    self.error(func_span, f"unknown aggregate '{func}'"
                               f"{did_you_mean(func, AGGREGATES)} (known: count, total)",
                               "unknown-field")
                    return None
                return AGGREGATES[func][0] if ok else None
        return None  # pragma: no cover

    def _nth_type(self, operand: ast.NthScoped, in_orders: bool) -> Type | None:
        """`order(N).field`: a whole N from 1 on, then an order field as for any scope."""
        text = _operand_text(operand)
        if in_orders:
            self.error(operand.scope_span, f"'{text}' cannot be used inside an order filter; "
                       f"write '{operand.name}' (or number = N)", "misplaced-scope")
            return None
        problem = order_position.nth_problem(operand)
        if problem is not None:
            self.error(problem[0], problem[1], "bad-scope")
            return None
        fdef = ORDER_NAMESPACE.get(operand.name)
        if fdef is None:
            self.error(operand.name_span, f"unknown order field '{operand.name}'"
                       f"{did_you_mean(operand.name, ORDER_NAMESPACE)}", "unknown-field")
            return None
        return fdef.type

    def _check_scope(self, scope: str, span: ast.Span, name: str | None) -> bool:
        if scope in SCOPES:
            return True
        self.error(span, f"unknown order scope '{scope}'{did_you_mean(scope, SCOPES)} "
                   f"(known: {', '.join(SCOPES)})", "unknown-scope")
        return False

    def _unknown_field(self, name: str, span: ast.Span, namespace, segments) -> None:
        hint = did_you_mean(name, namespace)
        if namespace is CUSTOMER_NAMESPACE:
            if not hint and name in ORDER_NAMESPACE:
                hint = f" — '{name}' is an order field: write orders.{name} or first_order.{name}"
            elif not hint and name in segments:
                hint = f" — to use the segment, write 'segment {name}'"
            self.error(span, f"unknown field '{name}'{hint}", "unknown-field")
        else:
            if not hint and name in CUSTOMER_NAMESPACE:
                hint = f" — '{name}' is a customer field and cannot be used inside an order filter"
            self.error(span, f"unknown order field '{name}'{hint}", "unknown-field")

    def _check_value(self, value: ast.Value, ftype: Type, operand: ast.Operand) -> bool:
        want = value_type_for(ftype)
        got = _value_type(value)
        name = _operand_text(operand)
        if got is Type.NUMBER and want is Type.INTEGER:
            assert isinstance(value, ast.NumberLit)
            if value.value != value.value.to_integral_value():
                self.error(value.span, f"'{name}' is a whole number; {value.value} is not",
                           "type-mismatch")
                return False
            return True
        if got is not want:
            self.error(value.span, f"type mismatch: '{name}' is a {ftype.value}, but "
                       f"{_value_text(value)} is a {got.value}", "type-mismatch")
            return False
        return True


def _value_type(value: ast.Value) -> Type:
    match value:
        case ast.StringLit():
            return Type.STRING
        case ast.NumberLit():
            return Type.NUMBER
        case ast.BoolLit():
            return Type.BOOLEAN
        case _:
            return Type.DATE


def _value_text(value: ast.Value) -> str:
    match value:
        case ast.StringLit(value=v):
            return f'"{v}"' if len(v) < 40 else f'"{v[:37]}..."'
        case ast.NumberLit(value=v):
            return str(v)
        case ast.BoolLit(value=v):
            return "true" if v else "false"
        case ast.DateLit(value=v):
            return v.isoformat()
        case _:
            return "this date"


def _operand_text(operand: ast.Operand) -> str:
    match operand:
        case ast.Field(name=name):
            return name
        case ast.Scoped(scope=scope, name=name):
            return f"{scope}.{name}"
        case ast.Aggregate(scope=scope, func=func):
            return f"{scope}[...].{func}"
        case ast.NthScoped(scope=scope, number=number, name=name):
            return f"{scope}({format(number, 'f')}).{name}"
        case ast.AggregateOf(scope=scope, where=where, func=func, arg=arg):
            return f"{scope}{'' if where is None else '[...]'}.{func}({arg})"
    return "?"  # pragma: no cover


def _ops_text(ftype: Type) -> str:
    ops = sorted(COMPARE_OPS[ftype], key=lambda o: (len(o) > 2, o))
    extra = []
    if ftype in IN_TYPES:
        extra.append("in [...]")
    if ftype in BETWEEN_TYPES:
        extra.append("between")
    return ", ".join([*ops, *extra, "is set"])


def _example_op(ftype: Type) -> str:
    return {
        Type.STRING: '= "..."',
        Type.STRING_LIST: '= "..."',
        Type.NUMBER: ">= 1",
        Type.INTEGER: ">= 1",
        Type.DATE: ">= today - 30d",
    }.get(ftype, "= true")


# ---------------------------------------------------------------------- cycles


def segment_refs(expr: ast.Expr) -> list[ast.SegmentRef]:
    """Every segment reference in a rule, in source order."""
    match expr:
        case ast.SegmentRef():
            return [expr]
        case ast.BoolOp(operands=operands):
            return [r for o in operands for r in segment_refs(o)]
        case ast.Not(operand=operand):
            return segment_refs(operand)
    return []


def _reference_graph(segments) -> dict[str, list[ast.SegmentRef]]:
    return {
        name: [r for r in segment_refs(decl.where.expr) if r.name in segments and r.name != name]
        if decl.where is not None else []
        for name, (_src, decl) in segments.items()
    }


def _find_cycles(segments) -> list[tuple[list[str], ast.SourceFile, ast.SegmentRef]]:
    """Depth-first over the references, with an explicit stack (chains may be long)."""
    graph = _reference_graph(segments)
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles = []
    for root in sorted(graph):
        if root in state:
            continue
        state[root] = 1
        path, stack = [root], [iter(graph[root])]
        while stack:
            ref = next(stack[-1], None)
            if ref is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(ref.name) == 1:
                cycle = [*path[path.index(ref.name):], ref.name]
                cycles.append((cycle, segments[path[-1]][0], ref))
            elif ref.name not in state:
                state[ref.name] = 1
                path.append(ref.name)
                stack.append(iter(graph[ref.name]))
    return cycles


MAX_INLINED_NODES = 100_000


def inlining_problems(segments) -> list[tuple[ast.SourceFile, ast.SegmentRef, str]]:
    """Where a rule, once the rules it refers to are inlined, nests too deeply or grows too big.

    A reference counts as one level, so a chain of references is bounded too. Each problem is
    reported where it starts (the reference to a segment that is itself within bounds); cycles
    are left to the cycle check.
    """
    own: dict[str, tuple[int, int, list[tuple[ast.SegmentRef, int]]]] = {}
    for name, (_src, decl) in segments.items():
        deepest, nodes, refs = 0, 0, []
        if decl.where is not None:
            for node, depth in ast.depths(decl.where.expr):
                deepest, nodes = max(deepest, depth), nodes + 1
                if type(node) is ast.SegmentRef and node.name in segments and node.name != name:
                    refs.append((node, depth))
        own[name] = deepest, nodes, refs
    inlined: dict[str, tuple[int, int]] = {}  # name -> (depth, nodes) once inlined
    problems = []
    for name in _postorder(own):
        deepest, nodes, refs = own[name]
        reported = False
        for ref, depth in refs:
            sub_depth, sub_nodes = inlined.get(ref.name, (0, 0))  # absent: in a cycle
            deepest, nodes = max(deepest, depth + sub_depth), nodes + sub_nodes
            if reported or sub_depth > ast.MAX_NESTING or sub_nodes > MAX_INLINED_NODES:
                continue  # the segment referred to has its own report
            if deepest > ast.MAX_NESTING:
                problems.append((segments[name][0], ref, f"segment '{name}' nests too deeply "
                                 f"once the segments it refers to are inlined: {deepest} levels "
                                 f"through '{ref.name}' (at most {ast.MAX_NESTING}, each "
                                 "reference counting as one)"))
                reported = True
            elif nodes > MAX_INLINED_NODES:
                problems.append((segments[name][0], ref, f"segment '{name}' is too large once "
                                 f"the segments it refers to are inlined: {nodes:,} conditions "
                                 f"and values through '{ref.name}' (at most "
                                 f"{MAX_INLINED_NODES:,})"))
                reported = True
        inlined[name] = deepest, nodes
    return problems


def _postorder(own) -> list[str]:
    """Segment names, each after those it refers to (iterative; cycles broken anywhere)."""
    order, state = [], {}
    for root in sorted(own):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(own[root][2]))]
        while stack:
            name, refs = stack[-1]
            ref = next(refs, None)
            if ref is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif ref[0].name not in state:
                state[ref[0].name] = 1
                stack.append((ref[0].name, iter(own[ref[0].name][2])))
    return order


def _cycle_text(cycle: list[str]) -> str:
    # normalise [a, b, a] / [b, a, b]
    seen = []
    for n in cycle:
        if seen and n == seen[0]:
            break
        seen.append(n)
    return " -> ".join([*seen, seen[0]])


def check_files(files: list[ast.SourceFile]) -> list[Diagnostic]:
    """All problems in a set of parsed files, sorted by file and position."""
    return Checker().check(files)


def field_def(name: str, *, in_orders: bool) -> FieldDef:
    """The catalog entry for a name already accepted by the checker."""
    return (ORDER_NAMESPACE if in_orders else CUSTOMER_NAMESPACE)[name]
