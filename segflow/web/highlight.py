"""Rule-language highlighting with the parser's own lexer, so it never drifts from the grammar."""

from __future__ import annotations

from collections.abc import Callable

from lark.exceptions import LarkError
from markupsafe import Markup, escape

from segflow.dsl.parser import _lark  # the grammar's cached LALR parser: one source of truth

_CLASSES = {
    "STRING": "str", "LONG_STRING": "str",
    "NUMBER": "num", "DATE": "num", "DURATION": "num",
    "COMMENT": "com", "COMP_OP": "op", "SIGN": "op",
}


def highlight(source: str, segment_href: Callable[[str], str] | None = None) -> Markup:
    """The source as HTML spans (kw, name, str, num, com, op); segment references become links.

    Text that the lexer refuses (never for a stored, formatted definition) is shown plain.
    """
    try:
        tokens = list(_lark().lex(source, dont_ignore=True))
    except LarkError:
        return escape(source)
    out: list[str] = []
    pos = 0
    after_segment = False
    depth = 0  # inside a declaration's braces, `segment NAME` refers to another segment
    for tok in tokens:
        start, end = tok.start_pos or 0, tok.end_pos or 0
        if start > pos:
            out.append(str(escape(source[pos:start])))
        text = escape(source[start:end])
        kind = tok.type
        if kind == "WS":
            out.append(str(text))
        elif kind == "NAME" and after_segment and segment_href is not None:
            out.append(f'<a class="ref" href="{escape(segment_href(str(tok)))}">{text}</a>')
        elif kind == "NAME":
            out.append(f'<span class="name">{text}</span>')
        elif kind in _CLASSES:
            out.append(f'<span class="{_CLASSES[kind]}">{text}</span>')
        elif str(tok).isalpha():
            out.append(f'<span class="kw">{text}</span>')
        else:
            out.append(str(text))
        depth += {"LBRACE": 1, "RBRACE": -1}.get(kind, 0)
        if kind != "WS":
            after_segment = kind == "SEGMENT" and depth > 0
        pos = max(pos, end)
    out.append(str(escape(source[pos:])))
    return Markup("".join(out))
