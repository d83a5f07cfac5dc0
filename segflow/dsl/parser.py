"""Text -> syntax tree. The LALR parser is built once per process and reused.

The AST is built while Lark's LALR parser reduces (no parse tree is made): see `_Builder`.

A syntax error stops Lark at the first problem, so after a failure the file is split at its
top-level `segment` / `group` lines and each declaration is parsed alone: one run reports a syntax
error in every broken declaration, not just the first, and the declarations that parse are kept
(`PartialParse.source`) so that they are checked too. Common mistakes get a message saying what
is wrong (`_explain`). Rules nest at most `ast.MAX_NESTING` levels, strings hold no control
characters, numbers at most MAX_DIGITS digits: past those, a positioned error, never a crash.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from segflow.dsl import ast
from segflow.errors import Diagnostic, SegflowError

# where a declaration starts, for parsing one at a time after an error (any case: `SEGMENT x`
# is a declaration written with the wrong case, and gets its own message)
_DECL_START = re.compile(r"^(segment|group)\b", re.MULTILINE | re.IGNORECASE)

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
def _parser() -> tuple[Lark, _Builder]:
    """The LALR parser, calling the builder as it reduces; Lark caches the built grammar."""
    builder = _Builder()
    grammar = resources.files("segflow.dsl").joinpath("segflow.lark").read_text(encoding="utf-8")
    lark = Lark(grammar, parser="lalr", maybe_placeholders=True, keep_all_tokens=True, cache=True,
                transformer=builder, lexer_callbacks={"COMMENT": builder.comment})
    return lark, builder


def _lark() -> Lark:
    return _parser()[0]


def _parse(text: str) -> tuple[list[ast.Decl], list[Token]]:
    lark, builder = _parser()
    return builder.run(lark, text)


BOM = "\ufeff"


def without_bom(text: str) -> str:
    """The text without a leading byte-order mark (Windows editors write one; it means nothing).

    Dropped before parsing, so positions on the first line are what an editor shows, and
    `seg fmt` writes files back without it.
    """
    return text[1:] if text.startswith(BOM) else text


class PartialParse(SegflowError):
    """Syntax errors, with what did parse: the file's other declarations (see `parse`)."""

    def __init__(self, diagnostics: list[Diagnostic], source: ast.SourceFile):
        super().__init__(diagnostics)
        self.source = source


def parse(text: str, path: str = "<string>") -> ast.SourceFile:
    """Parse a segment file; raises PartialParse with every syntax error found.

    After a syntax error each declaration is parsed alone, so that every broken one is reported
    and the others can still be checked: the error carries them as `source` (with the kind and
    name of each broken one in `unparsed`, so references to it are not reported as unknown).
    """
    text = without_bom(text)
    try:
        decls, comment_tokens = _parse(text)
    except (UnexpectedInput, _ValueError) as first:
        diagnostics, source = _parse_by_declaration(text, path)
        raise PartialParse(diagnostics or [_diagnostic(first, text, path)],
                           source if diagnostics else ast.SourceFile(path, (), text=text)) from None
    return ast.SourceFile(path=path, decls=tuple(decls), comments=_comments(text, comment_tokens),
                          text=text)


def parse_expr(text: str) -> ast.Expr:
    """Parse a lone rule expression (used by templates and tests)."""
    source = parse(f"segment _ {{\n  where {text}\n}}\n", "<expr>")
    decl = source.decls[0]
    assert isinstance(decl, ast.SegmentDecl) and decl.where is not None
    return decl.where.expr


def _comments(text: str, tokens: list[Token]) -> tuple[ast.Comment, ...]:
    """The comments the lexer skipped (so a '#' inside a string is never one)."""
    found = []
    for tok in tokens:
        line_start = text.rfind("\n", 0, tok.start_pos) + 1
        own_line = not text[line_start:tok.start_pos].strip()
        found.append(ast.Comment(tok.rstrip(), tok.line, tok.column, own_line))
    return tuple(found)


_DECL_HEAD = re.compile(r"(segment|group)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _parse_by_declaration(text: str, path: str) -> tuple[list[Diagnostic], ast.SourceFile]:
    """Parse the file one top-level `segment` / `group` line at a time.

    Each piece is parsed where it stands (the lines before it blank), so positions are the
    file's own.
    """
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    diagnostics, decls, comments, unparsed = [], [], [], []
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = "\n" * text.count("\n", 0, begin) + text[begin:end]
        try:
            chunk_decls, comment_tokens = _parse(chunk)
        except (UnexpectedInput, _ValueError) as exc:
            diagnostics.append(_diagnostic(exc, text, path, chunk))
            head = _DECL_HEAD.match(text, begin)
            if head:
                unparsed.append((head[1].lower(), head[2]))
            continue
        decls += chunk_decls
        comments += _comments(chunk, comment_tokens)
    source = ast.SourceFile(path, tuple(decls), tuple(comments), text, tuple(unparsed))
    return diagnostics, source


def _diagnostic(exc: Exception, text: str, path: str, chunk: str | None = None) -> Diagnostic:
    lines = text.split("\n")
    if isinstance(exc, _ValueError):
        line, col, end_col, message = exc.line, exc.col, exc.end_col, exc.message
    else:
        line, col = getattr(exc, "line", 1), getattr(exc, "column", 1)
        if not isinstance(line, int) or line < 1:  # EOF errors may have no position: the end
            body = (chunk if chunk is not None else text).rstrip()
            line = body.count("\n") + 1
            col = len(body) - body.rfind("\n")
        end_col = None
        if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
            end_col = col + max(1, len(str(exc.token)))
        explained = _explain(exc, text, line, col)
        if explained:
            message, line, col, end_col = explained
        else:
            message = _syntax_message(exc)
    source_line = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
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


KEYWORDS = frozenset({"segment", "group", "where", "and", "or", "not", "except", "in", "contains",
                      "starts", "with", "is", "set", "between", "true", "false", "today"})
OPERATORS = ("=, !=, <, <=, >, >=, in [...], not in [...], contains, starts with, is set, "
             "is not set, between ... and ...")
# words people reach for that are not operators here, and what to write instead
_NOT_OPERATORS = {
    "ends": "no operator 'ends with'",
    "endswith": "no operator 'endswith'",
    "startswith": "no operator 'startswith': write 'starts with'",
    "matches": "no operator 'matches' (no regular expressions)",
    "like": "no operator 'like': use contains or starts with",
    "ilike": "no operator 'ilike': contains and starts with ignore case",
    "regex": "no operator 'regex' (no regular expressions)",
    "equals": "no operator 'equals': write '='",
    "has": "no operator 'has': use contains, or = for a list field such as tags",
    "includes": "no operator 'includes': use contains, or = for a list field such as tags",
    "within": "no operator 'within': use between, or >= today - 30d",
}
_WORD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")
_CHARACTER_HINTS = {
    "'": "strings use double quotes: \"...\"",
    "\"": "unterminated string: a \"...\" string ends on its own line (use \"\"\"...\"\"\" for "
          "several lines)",
    "&": "write 'and', not '&&'",
    "|": "write 'or', not '||'",
    "!": "write 'not', or '!=' for not equal",
    ";": "no ';' needed: conditions are joined with and / or",
}


def _explain(exc: Exception, text: str, line: int, col: int) -> tuple | None:
    """What is wrong, for the mistakes people make: (message, line, col, end_col) of the word
    at fault (the unexpected token, or the word before it); None for other errors."""
    if isinstance(exc, UnexpectedCharacters):
        hint = _CHARACTER_HINTS.get(exc.char)
        return (hint, line, col, col + 1) if hint else None
    if not isinstance(exc, UnexpectedToken) or exc.token.type == "$END":
        return None
    lines = text.split("\n")
    before = "\n".join([*lines[: line - 1], lines[line - 1][: col - 1] if line <= len(lines) else ""])
    words = [(str(exc.token), line, col)]  # the token, then the two words before it
    end = len(before)
    for _ in range(2):
        previous = _WORD_BEFORE.search(before, 0, end)
        if not previous:
            break
        start = end = previous.start(1)
        p_line = before.count("\n", 0, start) + 1
        words.append((previous[1], p_line, start - before.rfind("\n", 0, start)))
    for word, w_line, w_col in words:
        if word.lower() in KEYWORDS and word != word.lower():
            return (f"keywords are lower case: write '{word.lower()}', not '{word}'", w_line, w_col,
                    w_col + len(word))
    for word, w_line, w_col in (words[1:2] + words[:1]):  # `ends with`: the word before
        if word.lower() in _NOT_OPERATORS:
            return (f"{_NOT_OPERATORS[word.lower()]}; the operators are {OPERATORS}", w_line,
                    w_col, w_col + len(word))
    if str(exc.token) == "=" and before.endswith("="):
        return "write '=' for equal, not '=='", line, col - 1, col + 1
    return None


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
        span = _tok(at) if isinstance(at, Token) else at
        self.line, self.col, self.end_col = span.line, span.col, span.end_col
        self.message = message


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}

MAX_DIGITS = 20  # in a number: beyond any amount or count, and within every engine's numerics
MAX_DURATION = 100_000

# Raw control characters in a string: none (a tab aside; a triple-quoted string may also hold
# line breaks). PostgreSQL refuses NUL in text, Shopify tags refuse most of them, and an
# invisible character in a title or a value is never meant: the escapes \n and \t say it.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_LONG = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_NAMES = {"\x00": "NUL", "\r": "carriage return", "\x1b": "escape", "\x7f": "delete"}


def _control_message(char: str) -> str:
    name = _CONTROL_NAMES.get(char, "control character")
    return (f"{name} (U+{ord(char):04X}) in a string: strings cannot hold control characters "
            "(write \\n for a new line, \\t for a tab)")


def _char_span(token: Token, offset: int) -> ast.Span:
    """The span of the one character at `offset` in a (possibly multi-line) token."""
    before = token[:offset]
    line = token.line + before.count("\n")
    col = offset - before.rfind("\n") if "\n" in before else token.column + offset
    return ast.Span(line, col, line, col + 1)


def _short(text: str, width: int = 20) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


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


class _Paren:
    """A parenthesised expression while parsing: the node, and the span including '(' and ')'.

    The node keeps its own span; an enclosing node's span reaches to the parentheses.
    """

    __slots__ = ("node", "span")

    def __init__(self, node, span: ast.Span):
        self.node, self.span = node, span


def _unwrap(child):
    return child.node if type(child) is _Paren else child


def _tok(token: Token) -> ast.Span:
    return ast.Span(token.line, token.column, token.end_line, token.end_column)


def _between(first, last) -> ast.Span:
    """From the start of `first` to the end of `last` (tokens or nodes with a span)."""
    a = _tok(first) if isinstance(first, Token) else first.span
    b = _tok(last) if isinstance(last, Token) else last.span
    return ast.Span(a.line, a.col, b.end_line, b.end_col)


class _Builder(Transformer):
    """Builds ast nodes while the LALR parser reduces: no parse tree is made.

    Lark calls these with every token of the rule (keep_all_tokens), so spans run from the first
    token to the last, punctuation included. A value error (an impossible date, a bad escape) is
    recorded and the parse goes on, so that a syntax error later in the text wins, as it would if
    the tree were transformed after parsing; `run` raises it at the end.
    """

    def __init__(self):
        super().__init__()
        self.error: _ValueError | None = None
        self.comments: list[Token] = []

    def run(self, parser: Lark, text: str):
        self.error, self.comments = None, []
        try:
            decls = parser.parse(text)
            if self.error is not None:
                raise self.error
            return decls, self.comments
        finally:
            self.comments = []

    def comment(self, token: Token) -> Token:
        self.comments.append(token)
        return token

    def _fail(self, at, message: str) -> None:
        if self.error is None:
            self.error = _ValueError(at, message)

    def start(self, decls):
        return decls

    def group_decl(self, c):
        kw, name, _lb, *attrs, rb = c
        return ast.GroupDecl(str(name), tuple(attrs), _tok(name), _between(kw, rb))

    def segment_decl(self, c):
        kw, name, _lb, *items, rb = c
        attrs = tuple(i for i in items if type(i) is ast.Attr)
        wheres = [i for i in items if type(i) is ast.Where]
        if len(wheres) > 1:
            self._fail(wheres[1].span, "a segment has one 'where' rule; combine them with 'and'")
        where = wheres[0] if wheres else None
        return ast.SegmentDecl(str(name), attrs, where, _tok(name), _between(kw, rb))

    def where_clause(self, c):
        kw, expr = c
        where = ast.Where(_unwrap(expr), _between(kw, expr))
        self._check_nesting(where.expr)
        return where

    def _check_nesting(self, expr: ast.Expr) -> None:
        for node, depth in ast.depths(expr):
            if depth > ast.MAX_NESTING:
                self._fail(node.span, f"rule nested too deeply: more than {ast.MAX_NESTING} "
                           "levels of not / and / or / except / order filters / date offsets "
                           "inside one another; simplify it")
                return

    def attr(self, c):
        name, _eq, value = c
        return ast.Attr(str(name), value, _between(name, value))

    def name_list(self, c):
        names = [t for t in c[1:-1] if t is not None and t.type == "NAME"]
        return ast.NameList(tuple(str(n) for n in names), tuple(_tok(n) for n in names),
                            _between(c[0], c[-1]))

    def string(self, c):
        (tok,) = c
        control = (_CONTROL_LONG if tok.type == "LONG_STRING" else _CONTROL).search(tok)
        if control is not None:
            self._fail(_char_span(tok, control.start()), _control_message(control.group()))
        try:
            value = unescape(tok)
        except _ValueError as exc:
            self._fail(_tok(tok), exc.message)
            value = ""
        return ast.StringLit(value, _tok(tok))

    # -- expressions
    def _boolop(self, op, c):
        left, _kw, right = c
        span = _between(left, right)
        left, right = _unwrap(left), _unwrap(right)
        # and/or are associative, so nested runs flatten whatever the parentheses; except is
        # not (a except (b except c) keeps b except c apart), so only its left side flattens.
        sides = (left, right) if op != "except" else (left,)
        operands = []
        for side in sides:
            if type(side) is ast.BoolOp and side.op == op:
                operands.extend(side.operands)
            else:
                operands.append(side)
        if op == "except":
            operands.append(right)
        return ast.BoolOp(op, tuple(operands), span)

    def and_(self, c):
        return self._boolop("and", c)

    def or_(self, c):
        return self._boolop("or", c)

    def except_(self, c):
        return self._boolop("except", c)

    def not_(self, c):
        kw, operand = c
        return ast.Not(_unwrap(operand), _between(kw, operand))

    def paren(self, c):
        lp, inner, rp = c
        return _Paren(_unwrap(inner), _between(lp, rp))

    def segment_ref(self, c):
        kw, name = c
        return ast.SegmentRef(str(name), _between(kw, name))

    def bare(self, c):
        (operand,) = c
        return ast.Truthy(operand, operand.span)

    def compare(self, c):
        operand, op, value = c
        return ast.Compare(operand, str(op), value, _between(operand, value))

    def in_(self, c):
        operand, _kw, values = c
        return ast.InList(operand, values, False, _between(operand, values))

    def not_in(self, c):
        operand, _not, _in, values = c
        return ast.InList(operand, values, True, _between(operand, values))

    def contains(self, c):
        operand, _kw, value = c
        return ast.Compare(operand, "contains", value, _between(operand, value))

    def starts_with(self, c):
        operand, _s, _w, value = c
        return ast.Compare(operand, "starts with", value, _between(operand, value))

    def is_set(self, c):
        return ast.IsSet(c[0], False, _between(c[0], c[-1]))

    def is_not_set(self, c):
        return ast.IsSet(c[0], True, _between(c[0], c[-1]))

    def between(self, c):
        operand, _kw, low, _and, high = c
        return ast.Between(operand, low, high, _between(operand, high))

    def field(self, c):
        (name,) = c
        return ast.Field(str(name), _tok(name))

    def scoped(self, c):
        scope, _dot, name = c
        return ast.Scoped(str(scope), str(name), _tok(scope), _tok(name), _between(scope, name))

    def aggregate(self, c):
        scope, _lb, where, _rb, _dot, func = c
        return ast.Aggregate(str(scope), _unwrap(where), str(func), _tok(scope), _tok(func),
                             _between(scope, func))

    def nth_scoped(self, c):
        scope, _lp, number, _rp, _dot, name = c
        value = self.number([number])
        return ast.NthScoped(str(scope), value.value, str(name), _tok(scope), value.span,
                             _tok(name), _between(scope, name))

    def aggregate_of(self, c):
        scope, _lb, where, _rb, _dot, func, _lp, arg, _rp = c
        return ast.AggregateOf(str(scope), _unwrap(where), str(func), str(arg), _tok(scope),
                               _tok(func), _tok(arg), _between(scope, _rp))

    def set_aggregate_of(self, c):
        scope, _dot, func, _lp, arg, _rp = c
        return ast.AggregateOf(str(scope), None, str(func), str(arg), _tok(scope), _tok(func),
                               _tok(arg), _between(scope, _rp))

    def list_value(self, c):
        items = tuple(v for v in c[1:-1] if v is not None and not isinstance(v, Token))
        return ast.ListLit(items, _between(c[0], c[-1]))

    # -- values
    def number(self, c):
        (tok,) = c
        if len(tok) > MAX_DIGITS and sum(ch.isdigit() for ch in tok) > MAX_DIGITS:
            self._fail(tok, f"number too long: at most {MAX_DIGITS} digits")
            return ast.NumberLit(Decimal(0), _tok(tok))
        return ast.NumberLit(Decimal(str(tok)), _tok(tok))

    def true(self, c):
        return ast.BoolLit(True, _tok(c[0]))

    def false(self, c):
        return ast.BoolLit(False, _tok(c[0]))

    def date(self, c):
        (tok,) = c
        try:
            day = dt.date.fromisoformat(str(tok))
        except ValueError:
            self._fail(tok, f"invalid date {tok!s}: no such day")
            day = dt.date.min
        return ast.DateLit(day, _tok(tok))

    def today(self, c):
        return ast.Today(_tok(c[0]))

    def date_offset(self, c):
        base, sign, dur = c
        digits = str(dur)[:-1]
        amount = int(digits) if len(digits) <= 6 else MAX_DURATION + 1
        if amount > MAX_DURATION:
            self._fail(dur, f"duration {_short(str(dur))} is too long (at most {MAX_DURATION} units)")
            amount = 0
        duration = ast.Duration(amount, str(dur)[-1], _tok(dur))
        return ast.DateOffset(base, str(sign), duration, _between(base, dur))
