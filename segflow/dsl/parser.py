"""Text -> syntax tree. The LALR parser is built once per process and reused.

A syntax error stops Lark at the first problem, so after a failure the file is split at its
top-level `segment` / `group` lines and each declaration is parsed alone: one run reports a syntax
error in every broken declaration, not just the first.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from segflow.dsl import ast
from segflow.errors import Diagnostic, SegflowError

_DECL_START = re.compile(r"^(segment|group)\b", re.MULTILINE)

# How tokens are named in messages.
_TOKEN_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "LONG_STRING": "a string",
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "DURATION": "a duration (e.g. 30d)",
    "COMP_OP": "a comparison (=, !=, <, <=, >, >=)",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LPAR": "'('",
    "RPAR": "')'",
    "EQUAL": "'='",
    "COMMA": "','",
    "DOT": "'.'",
    "SIGN": "'+' or '-'",
    "$END": "end of file",
}


@cache
def _lark() -> Lark:
    grammar = resources.files("segflow.dsl").joinpath("segflow.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse(text: str, path: str = "<string>") -> ast.SourceFile:
    """Parse a segment file; raises SegflowError with every syntax error found."""
    comments = _comments(text)
    try:
        tree = _lark().parse(text)
        decls = _ToAst().transform(tree)
    except (UnexpectedInput, _ValueError, VisitError) as first:
        diagnostics = _chunked_errors(text, path) or [_diagnostic(first, text, path, 0)]
        raise SegflowError(diagnostics) from None
    return ast.SourceFile(path=path, decls=tuple(decls), comments=comments, text=text)


def parse_expr(text: str) -> ast.Expr:
    """Parse a lone rule expression (used by templates and tests)."""
    source = parse(f"segment _ {{\n  where {text}\n}}\n", "<expr>")
    decl = source.decls[0]
    assert isinstance(decl, ast.SegmentDecl) and decl.where is not None
    return decl.where.expr


# The string terminals of segflow.lark: a '#' inside either is not a comment.
_STRING_RE = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""', re.DOTALL)
_SHORT_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _comments(text: str) -> tuple[ast.Comment, ...]:
    """Every comment, scanning the whole text so that a '#' inside a (long) string is skipped.

    Lines are counted at '\\n' only, as Lark counts them, so comment and node positions agree.
    """
    found = []
    i, line, line_start = 0, 1, 0
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line, line_start = line + 1, i + 1
        elif ch == '"':
            m = _STRING_RE.match(text, i) or _SHORT_STRING_RE.match(text, i)
            if m:
                line += m.group().count("\n")
                if "\n" in m.group():
                    line_start = i + m.group().rindex("\n") + 1
                i = m.end()
                continue
        elif ch == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            before = text[line_start:i]
            found.append(ast.Comment(text[i:end].rstrip(), line, i - line_start + 1, not before.strip()))
            i = end
            continue
        i += 1
    return tuple(found)


def _chunked_errors(text: str, path: str) -> list[Diagnostic]:
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    diagnostics = []
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[begin:end]
        line_offset = text.count("\n", 0, begin)
        try:
            _ToAst().transform(_lark().parse(chunk))
        except (UnexpectedInput, _ValueError, VisitError) as exc:
            diagnostics.append(_diagnostic(exc, text, path, line_offset))
    return diagnostics


def _diagnostic(exc: Exception, text: str, path: str, line_offset: int) -> Diagnostic:
    lines = text.splitlines()
    if isinstance(exc, VisitError):
        exc = exc.orig_exc
    if isinstance(exc, _ValueError):
        line, col, end_col, message = exc.line, exc.col, exc.end_col, exc.message
    else:
        line, col = getattr(exc, "line", 1), getattr(exc, "column", 1)
        if not isinstance(line, int) or line < 1:  # EOF errors may have no position
            line = max(1, text[: len(text)].count("\n") + 1 - line_offset)
            col = len(lines[line + line_offset - 1]) + 1 if lines else 1
        end_col = None
        message = _syntax_message(exc)
        if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
            end_col = col + max(1, len(str(exc.token)))
    line += line_offset
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    return Diagnostic(path, line, col, message, "syntax", end_col, source_line)


def _syntax_message(exc: Exception) -> str:
    if isinstance(exc, UnexpectedCharacters):
        return f"unexpected character {exc.char!r}"
    if isinstance(exc, UnexpectedEOF):
        return "unexpected end of file" + _expected(exc.expected)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        what = "end of file" if tok.type == "$END" else repr(str(tok))
        return f"unexpected {what}" + _expected(exc.expected)
    return "syntax error"


def _expected(expected) -> str:
    names = sorted({_TOKEN_NAMES.get(t, _keyword(t)) for t in expected or ()})
    if not names:
        return ""
    if len(names) > 6:
        names = [*names[:6], "..."]
    return "; expected " + ", ".join(names)


def _keyword(terminal: str) -> str:
    pattern = _lark().get_terminal(terminal).pattern
    return repr(pattern.value) if pattern.type == "str" else terminal.lower()


class _ValueError(Exception):
    """A token that lexes but cannot be a value, e.g. the date 2024-02-30."""

    def __init__(self, at: Token | ast.Span, message: str):
        super().__init__(message)
        span = _span(at) if isinstance(at, Token) else at
        self.line, self.col, self.end_col = span.line, span.col, span.end_col
        self.message = message


def _span(meta_or_token) -> ast.Span:
    if isinstance(meta_or_token, Token):
        return ast.Span(
            meta_or_token.line,
            meta_or_token.column,
            meta_or_token.end_line,
            meta_or_token.end_column,
        )
    meta = meta_or_token
    if getattr(meta, "empty", False):
        return ast.Span.unknown()
    return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column)


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def unescape(token: Token) -> str:
    body = token[3:-3] if token.type == "LONG_STRING" else token[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise _ValueError(token, f"unknown escape '\\{nxt}' in string (use \\\\, \\\", \\n or \\t)")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark tree -> ast nodes."""

    def start(self, meta, decls):
        return list(decls)

    def group_decl(self, meta, children):
        name, *attrs = children
        return ast.GroupDecl(str(name), tuple(attrs), _span(name), _span(meta))

    def segment_decl(self, meta, children):
        name, *items = children
        attrs = tuple(i for i in items if isinstance(i, ast.Attr))
        wheres = [i for i in items if isinstance(i, ast.Where)]
        if len(wheres) > 1:
            raise _ValueError(wheres[1].span, "a segment has one 'where' rule; combine them with 'and'")
        where = wheres[0] if wheres else None
        return ast.SegmentDecl(str(name), attrs, where, _span(name), _span(meta))

    def where_clause(self, meta, children):
        _kw, expr = children
        return ast.Where(expr, _span(meta))

    def attr(self, meta, children):
        name, value = children
        return ast.Attr(str(name), value, _span(meta))

    def name_list(self, meta, children):
        names = [c for c in children if c is not None]
        return ast.NameList(tuple(str(n) for n in names), tuple(_span(n) for n in names), _span(meta))

    def string(self, meta, children):
        (tok,) = children
        return ast.StringLit(unescape(tok), _span(tok))

    # -- expressions
    def _boolop(self, op, meta, children):
        left, right = children
        # and/or are associative, so nested runs flatten whatever the parentheses; except is
        # not (a except (b except c) keeps b except c apart), so only its left side flattens.
        sides = (left, right) if op != "except" else (left,)
        operands = []
        for side in sides:
            if isinstance(side, ast.BoolOp) and side.op == op:
                operands.extend(side.operands)
            else:
                operands.append(side)
        if op == "except":
            operands.append(right)
        return ast.BoolOp(op, tuple(operands), _span(meta))

    def and_(self, meta, children):
        return self._boolop("and", meta, children)

    def or_(self, meta, children):
        return self._boolop("or", meta, children)

    def except_(self, meta, children):
        return self._boolop("except", meta, children)

    def not_(self, meta, children):
        _kw, operand = children
        return ast.Not(operand, _span(meta))

    def paren(self, meta, children):
        (inner,) = children
        return inner

    def segment_ref(self, meta, children):
        _kw, name = children
        return ast.SegmentRef(str(name), _span(meta))

    def bare(self, meta, children):
        (operand,) = children
        return ast.Truthy(operand, _span(meta))

    def compare(self, meta, children):
        operand, op, value = children
        return ast.Compare(operand, str(op), value, _span(meta))

    def in_(self, meta, children):
        operand, _kw, values = children
        return ast.InList(operand, values, False, _span(meta))

    def not_in(self, meta, children):
        operand, _not, _in, values = children
        return ast.InList(operand, values, True, _span(meta))

    def contains(self, meta, children):
        operand, _kw, value = children
        return ast.Compare(operand, "contains", value, _span(meta))

    def starts_with(self, meta, children):
        operand, _s, _w, value = children
        return ast.Compare(operand, "starts with", value, _span(meta))

    def is_set(self, meta, children):
        return ast.IsSet(children[0], False, _span(meta))

    def is_not_set(self, meta, children):
        return ast.IsSet(children[0], True, _span(meta))

    def between(self, meta, children):
        operand, _kw, low, high = children
        return ast.Between(operand, low, high, _span(meta))

    def field(self, meta, children):
        (name,) = children
        return ast.Field(str(name), _span(name))

    def scoped(self, meta, children):
        scope, name = children
        return ast.Scoped(str(scope), str(name), _span(scope), _span(name), _span(meta))

    def aggregate(self, meta, children):
        scope, where, func = children
        return ast.Aggregate(str(scope), where, str(func), _span(scope), _span(func), _span(meta))

    def list_value(self, meta, children):
        return ast.ListLit(tuple(c for c in children if c is not None), _span(meta))

    # -- values
    def number(self, meta, children):
        (tok,) = children
        try:
            return ast.NumberLit(Decimal(str(tok)), _span(tok))
        except InvalidOperation:  # pragma: no cover - the token regex admits only decimals
            raise _ValueError(tok, f"invalid number {tok!s}") from None

    def true(self, meta, children):
        return ast.BoolLit(True, _span(children[0]))

    def false(self, meta, children):
        return ast.BoolLit(False, _span(children[0]))

    def date(self, meta, children):
        (tok,) = children
        try:
            return ast.DateLit(dt.date.fromisoformat(str(tok)), _span(tok))
        except ValueError:
            raise _ValueError(tok, f"invalid date {tok!s}: no such day") from None

    def today(self, meta, children):
        return ast.Today(_span(children[0]))

    def date_offset(self, meta, children):
        base, sign, dur = children
        amount = int(str(dur)[:-1])
        if amount > 100_000:
            raise _ValueError(dur, f"duration {dur!s} is too long (at most 100000 units)")
        duration = ast.Duration(amount, str(dur)[-1], _span(dur))
        return ast.DateOffset(base, str(sign), duration, _span(meta))

