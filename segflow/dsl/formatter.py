"""The canonical layout of segment files (`seg fmt`).

There is exactly one canonical form; formatting is idempotent, `parse(format_text(x))` equals
`parse(x)` up to the canonical attribute order (see `canonical`), and no comment is ever lost.

Layout
  * Declarations are separated by one blank line; the output ends with exactly one newline (an
    empty file formats to the empty string).
  * `group NAME {` / `segment NAME {`, then one attribute per line indented two spaces as
    `name = value`, then the `where` clause, then `}` on its own line. A declaration without
    attributes or rule is printed as `group NAME {` + newline + `}` (never `{}`), so every block has
    the same shape.
  * Attributes come in the order title, description, groups, tag, list, then any other attribute in
    source order (a stable sort: repeated attributes keep their relative order, so meaning is kept).
  * Strings use double quotes and the escapes `\\\\`, `\\"`, `\\n`, `\\t`. An attribute string with
    a newline is printed as a `\"\"\"long string\"\"\"` when that reads back unchanged (no quote,
    backslash, tab, other unprintable character or trailing blank on a line); otherwise, and always
    inside rules, with `\\n` escapes. Name lists print as `[a, b]`, value lists as `["a", 1]`.
  * Numbers print as `format(decimal, "f")`: never an exponent, the scale is kept (`500.00` stays
    `500.00`, `007` becomes `7`); dates print as `2024-03-01`, offsets as `today - 30d`.
  * Blank lines are not kept: the only blank lines are the ones between declarations, after the
    file's header comment, and before comments at the end of the file. The header is the own-line
    comments above the first declaration up to the last one followed by a blank line; it keeps
    one blank line after it.
  * Rules: keywords lowercase, single spaces, parentheses only where the tree needs them
    (precedence except < or < and < not < comparison; `a except (b except c)` keeps its parentheses,
    `not (a and b)` needs them).
  * `  where <rule>` stays on one line when it fits in 100 columns (comments not counted) and no
    top-level operand carries a comment (other than comments before the `where` line). Otherwise it
    breaks at the top-level `and` / `or` / `except`: the first operand follows `where `, each further
    operand gets its own line, indented four spaces and starting with the operator. Operands are
    never broken further.

Comments
  Every comment is attached to one item: a declaration header, an attribute, a top-level operand of
  a `where` rule, the end of a block (before its `}`), the `}` line, or the end of the file.
  * An own-line comment goes to the next item that starts after it inside the same block (between
    declarations: the next declaration), or to the end of the block / file when none follows, and is
    printed on its own line before that item at the item's indentation. An own-line comment inside a
    multi-line attribute or inside a top-level operand (e.g. within its parentheses) goes to that
    attribute / operand. Comments before the `where` line belong to the first operand and are
    printed before the `where` line.
  * An end-of-line comment goes to the item it follows on its line: inside a `where` rule, the
    top-level operand the preceding text belongs to (an operator starts its operand); elsewhere the
    last item that starts on or spans that line (the whole `where` rule if that sits on one line;
    the closing `}` if it is on that line, as in `segment s { where a }  # c`). It is printed after
    the item, separated by two spaces. If one item collects several end-of-line comments, the last
    stays at the end of the line and the others move before the item (a comment runs to the end of
    its line, so two cannot share one).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace

from segflow.dsl import ast
from segflow.dsl.parser import parse

LINE_WIDTH = 100
ATTR_ORDER = ("title", "description", "groups", "tag", "list")

_PREC = {"except": 1, "or": 2, "and": 3}
_NOT_PREC = 4
_ATOM_PREC = 5

Pos = tuple[int, int]  # (line, col), 1-based


def format_text(text: str, path: str = "<string>") -> str:
    """Parse a segment file and return it in canonical form (raises SegflowError on bad input)."""
    return format_source(parse(text, path))


def format_source(source: ast.SourceFile) -> str:
    """The canonical text of a parsed segment file, with its comments."""
    return _Formatter(source).run()


def canonical(source: ast.SourceFile) -> ast.SourceFile:
    """`source` with each declaration's attributes in canonical order: what `format` prints."""
    decls = tuple(replace(d, attrs=canonical_attrs(d.attrs)) for d in source.decls)
    return replace(source, decls=decls)


def canonical_attrs(attrs: tuple[ast.Attr, ...]) -> tuple[ast.Attr, ...]:
    return tuple(sorted(attrs, key=_attr_rank))


# ---------------------------------------------------------------- values and expressions


def format_string(value: str, *, allow_long: bool = False) -> str:
    if allow_long and _long_ok(value):
        return f'"""{value}"""'
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _long_ok(value: str) -> bool:
    if "\n" not in value or '"' in value or "\\" in value:
        return False
    lines = value.split("\n")
    return all(line.isprintable() and line == line.rstrip() for line in lines)


def format_value(value: ast.Value) -> str:
    match value:
        case ast.StringLit(v):
            return format_string(v)
        case ast.NumberLit(v):
            return format(v, "f")
        case ast.BoolLit(v):
            return "true" if v else "false"
        case ast.DateLit(v):
            return v.isoformat()
        case ast.Today():
            return "today"
        case ast.DateOffset(base, sign, dur):
            return f"{format_value(base)} {sign} {dur.amount}{dur.unit}"
    raise TypeError(f"not a value: {value!r}")  # pragma: no cover


def format_list(values: ast.ListLit) -> str:
    return "[" + ", ".join(format_value(v) for v in values.items) + "]"


def format_operand(operand: ast.Operand) -> str:
    match operand:
        case ast.Field(name):
            return name
        case ast.Scoped(scope, name):
            return f"{scope}.{name}"
        case ast.Aggregate(scope, where, func):
            return f"{scope}[{format_expr(where)}].{func}"
        case ast.NthScoped(scope, number, name):
            return f"{scope}({format(number, 'f')}).{name}"
        case ast.AggregateOf(scope, None, func, arg):
            return f"{scope}.{func}({arg})"
        case ast.AggregateOf(scope, where, func, arg):
            return f"{scope}[{format_expr(where)}].{func}({arg})"
    raise TypeError(f"not an operand: {operand!r}")  # pragma: no cover


def _prec(expr: ast.Expr) -> int:
    if isinstance(expr, ast.BoolOp):
        return _PREC[expr.op]
    if isinstance(expr, ast.Not):
        return _NOT_PREC
    return _ATOM_PREC


def format_expr(expr: ast.Expr, min_prec: int = 0) -> str:
    """One-line text of a rule; parenthesised if it binds looser than `min_prec`."""
    text = _expr(expr)
    return f"({text})" if _prec(expr) < min_prec else text


def _operand_prec(op: str, index: int) -> int:
    """Precedence an operand of `op` at `index` must have to print bare (see segflow.lark)."""
    if op == "except":
        # The left side of `except` is an except_expr, but the parser flattens a nested except
        # there anyway; the right side is an or_expr, so an except there keeps its parentheses.
        return _PREC["or"]
    if op == "or":
        return _PREC["and"]
    return _NOT_PREC


def _expr(expr: ast.Expr) -> str:
    match expr:
        case ast.BoolOp(op, operands):
            return f" {op} ".join(
                format_expr(o, _operand_prec(op, i)) for i, o in enumerate(operands)
            )
        case ast.Not(operand):
            return "not " + format_expr(operand, _NOT_PREC)
        case ast.SegmentRef(name):
            return f"segment {name}"
        case ast.Truthy(operand):
            return format_operand(operand)
        case ast.Compare(operand, op, value):
            return f"{format_operand(operand)} {op} {format_value(value)}"
        case ast.InList(operand, values, negated):
            kw = "not in" if negated else "in"
            return f"{format_operand(operand)} {kw} {format_list(values)}"
        case ast.Between(operand, low, high):
            return f"{format_operand(operand)} between {format_value(low)} and {format_value(high)}"
        case ast.IsSet(operand, negated):
            return f"{format_operand(operand)} is {'not set' if negated else 'set'}"
    raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover


def format_attr_value(value: ast.AttrValue) -> str:
    if isinstance(value, ast.NameList):
        return "[" + ", ".join(value.items) + "]"
    return format_string(value.value, allow_long=True)


# ---------------------------------------------------------------- comment attachment


@dataclass
class _Slot:
    """The comments attached to one printed item."""

    leading: list[tuple[Pos, str]] = field(default_factory=list)
    trailing: list[tuple[Pos, str]] = field(default_factory=list)

    def before(self) -> list[str]:
        """Comments printed on their own lines before the item, in source order."""
        return [text for _pos, text in sorted(self.leading + self.trailing[:-1])]

    def after(self) -> str:
        return f"  {self.trailing[-1][1]}" if self.trailing else ""

    def __bool__(self) -> bool:
        return bool(self.leading or self.trailing)


@dataclass
class _Item:
    key: tuple
    start: Pos
    first_line: int
    last_line: int


def _start(span: ast.Span) -> Pos:
    return (span.line, span.col)


def _end(span: ast.Span) -> Pos:
    return (span.end_line, span.end_col)


class _Formatter:
    def __init__(self, source: ast.SourceFile):
        self.source = source
        self.slots: dict[tuple, _Slot] = {}
        self.line_starts = [0]
        for i, ch in enumerate(source.text):
            if ch == "\n":
                self.line_starts.append(i + 1)
        # per declaration: [b_k, e_k] of each top-level where operand
        self.where_bounds: dict[int, list[tuple[Pos, Pos]]] = {}
        if source.comments:
            self._attach()

    def slot(self, key: tuple) -> _Slot:
        return self.slots.setdefault(key, _Slot())

    # -- positions in the source text
    def _offset(self, pos: Pos) -> int:
        line, col = pos
        return self.line_starts[line - 1] + col - 1

    def _pos(self, offset: int) -> Pos:
        line = bisect.bisect_right(self.line_starts, offset)
        return (line, offset - self.line_starts[line - 1] + 1)

    def _scan_gap(self, end: Pos) -> tuple[Pos, Pos]:
        """From the end of an operand: (just after its closing parentheses, start of next word)."""
        text = self.source.text
        i = self._offset(end)
        after_parens = i
        while i < len(text):
            ch = text[i]
            if ch == "#":
                nl = text.find("\n", i)
                i = len(text) if nl < 0 else nl
            elif ch == ")":
                i += 1
                after_parens = i
            elif ch.isspace():
                i += 1
            else:
                break
        return self._pos(after_parens), self._pos(i)

    def _where_operand_bounds(self, where: ast.Where) -> list[tuple[Pos, Pos]]:
        operands = _top_operands(where.expr)
        bounds = []
        begin = _start(where.span)
        for k, operand in enumerate(operands):
            if k == len(operands) - 1:
                bounds.append((begin, _end(where.span)))
            else:
                close, nxt = self._scan_gap(_end(operand.span))
                bounds.append((begin, close))
                begin = nxt
        return bounds

    # -- attaching
    def _decl_items(self, i: int, decl: ast.Decl) -> list[_Item]:
        items = [_Item(("head", i), _start(decl.span), decl.span.line, decl.name_span.end_line)]
        for j, attr in enumerate(decl.attrs):
            items.append(
                _Item(("attr", i, j), _start(attr.span), attr.span.line, attr.span.end_line)
            )
        if isinstance(decl, ast.SegmentDecl) and decl.where is not None:
            bounds = self.where_bounds[i]
            if len(bounds) == 1 or decl.where.span.line == decl.where.span.end_line:
                w = decl.where.span
                items.append(_Item(("where", i), _start(w), w.line, w.end_line))
            else:
                for k, (b, e) in enumerate(bounds):
                    items.append(_Item(("op", i, k), b, b[0], e[0]))
        end = (decl.span.end_line, decl.span.end_col - 1)
        items.append(_Item(("close", i), end, end[0], end[0]))
        items.sort(key=lambda it: it.start)
        return items

    def _attach(self) -> None:
        decls = self.source.decls
        for i, decl in enumerate(decls):
            if isinstance(decl, ast.SegmentDecl) and decl.where is not None:
                self.where_bounds[i] = self._where_operand_bounds(decl.where)
        for c in self.source.comments:
            pos = (c.line, c.col)
            inside = next(
                (i for i, d in enumerate(decls) if _start(d.span) <= pos < _end(d.span)), None
            )
            if inside is None:
                self._attach_top(c, pos)
            else:
                self._attach_in_decl(c, pos, inside, decls[inside])

    def _attach_top(self, c: ast.Comment, pos: Pos) -> None:
        decls = self.source.decls
        if not c.own_line:
            prev = [i for i, d in enumerate(decls) if _end(d.span) <= pos]
            if prev:
                self.slot(("close", prev[-1])).trailing.append((pos, c.text))
                return
        nxt = next((i for i, d in enumerate(decls) if _start(d.span) > pos), None)
        self.slot(("head", nxt) if nxt is not None else ("eof",)).leading.append((pos, c.text))

    def _attach_in_decl(self, c: ast.Comment, pos: Pos, i: int, decl: ast.Decl) -> None:
        where = decl.where if isinstance(decl, ast.SegmentDecl) else None
        if where is not None and _start(where.span) <= pos < _end(where.span):
            bounds = self.where_bounds[i]
            key = ("op", i, 0)
            if c.own_line:
                for k, (b, e) in enumerate(bounds):
                    if b <= pos < e:
                        key = ("op", i, k)
                        break
                    if b > pos:
                        key = ("op", i, k)
                        break
                self.slot(key).leading.append((pos, c.text))
            else:
                for k, (b, _e) in enumerate(bounds):
                    if b <= pos:
                        key = ("op", i, k)
                self.slot(key).trailing.append((pos, c.text))
            return
        items = self._decl_items(i, decl)
        if c.own_line:
            for attr_index, attr in enumerate(decl.attrs):
                if _start(attr.span) < pos < _end(attr.span):
                    self.slot(("attr", i, attr_index)).leading.append((pos, c.text))
                    return
            nxt = next(it for it in items if it.start > pos)  # the closing brace follows
            key = nxt.key
            if key == ("where", i):
                key = ("op", i, 0)
            self.slot(key).leading.append((pos, c.text))
            return
        on_line = [it for it in items if it.first_line <= c.line <= it.last_line and it.start < pos]
        if not on_line:
            on_line = [it for it in items if it.start < pos]
        self.slot(on_line[-1].key).trailing.append((pos, c.text))

    # -- printing
    def run(self) -> str:
        blocks = [self._decl(i, d) for i, d in enumerate(self.source.decls)]
        eof = self.slots.get(("eof",))
        if eof:
            blocks.append("\n".join(eof.before() + [t for _p, t in eof.trailing[-1:]]))
        return "\n\n".join(blocks) + "\n" if blocks else ""

    def _lines_for(self, key: tuple, indent: str, text: str) -> list[str]:
        slot = self.slots.get(key) or _Slot()
        return [indent + t for t in slot.before()] + [indent + text + slot.after()]

    def _file_header(self) -> list[str]:
        """Own-line comments at the top of the file that a blank line parts from what follows.

        They are taken out of the first declaration's leading comments and printed with one
        blank line after them, as they were written (a licence, a description of the file).
        """
        slot = self.slots.get(("head", 0))
        if not slot or not slot.leading:
            return []
        lines = self.source.text.split("\n")
        comments = sorted(slot.leading)
        header_end = 0
        for k, ((line, _col), _text) in enumerate(comments):
            nxt = comments[k + 1][0][0] if k + 1 < len(comments) else self.source.decls[0].span.line
            if any(not lines[n - 1].strip() for n in range(line + 1, nxt)):
                header_end = k + 1
        header = comments[:header_end]
        slot.leading = [c for c in slot.leading if c not in header]
        return [text for _pos, text in header]

    def _decl(self, i: int, decl: ast.Decl) -> str:
        header = self._file_header() if i == 0 else []
        lines = self._lines_for(("head", i), "", f"{decl.kind} {decl.name} {{")
        if header:
            lines = [*header, "", *lines]
        order = sorted(range(len(decl.attrs)), key=lambda j: _attr_rank(decl.attrs[j]))
        for j in order:
            attr = decl.attrs[j]
            text = f"{attr.name} = {format_attr_value(attr.value)}"
            lines += self._lines_for(("attr", i, j), "  ", text)
        if isinstance(decl, ast.SegmentDecl) and decl.where is not None:
            lines += self._where(i, decl.where)
        end = self.slots.get(("close", i)) or _Slot()
        lines += ["  " + t for t in end.before()]
        lines.append("}" + end.after())
        return "\n".join(lines)

    def _where(self, i: int, where: ast.Where) -> list[str]:
        operands = _top_operands(where.expr)
        slots = [self.slots.get(("op", i, k)) or _Slot() for k in range(len(operands))]
        clause = self.slots.get(("where", i)) or _Slot()
        one_line = "  where " + format_expr(where.expr)
        commented = bool(slots[0].trailing) or any(slots[1:])
        broken = len(operands) > 1 and (commented or len(one_line) > LINE_WIDTH)
        if not broken:
            merged = _Slot(slots[0].leading + clause.leading, slots[0].trailing + clause.trailing)
            return ["  " + t for t in merged.before()] + [one_line + merged.after()]
        assert isinstance(where.expr, ast.BoolOp)
        op = where.expr.op
        slots[-1].trailing.extend(clause.trailing)
        slots[0].leading[:0] = clause.leading
        lines: list[str] = []
        for k, (operand, slot) in enumerate(zip(operands, slots, strict=True)):
            text = format_expr(operand, _operand_prec(op, k))
            if k == 0:
                lines += ["  " + t for t in slot.before()]
                lines.append(f"  where {text}{slot.after()}")
            else:
                lines += ["    " + t for t in slot.before()]
                lines.append(f"    {op} {text}{slot.after()}")
        return lines


def _attr_rank(attr: ast.Attr) -> int:
    return ATTR_ORDER.index(attr.name) if attr.name in ATTR_ORDER else len(ATTR_ORDER)


def _top_operands(expr: ast.Expr) -> tuple[ast.Expr, ...]:
    return expr.operands if isinstance(expr, ast.BoolOp) else (expr,)


__all__ = [
    "LINE_WIDTH",
    "canonical",
    "canonical_attrs",
    "format_expr",
    "format_source",
    "format_string",
    "format_text",
    "format_value",
]
