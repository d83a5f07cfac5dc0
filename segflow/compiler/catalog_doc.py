"""The field reference of `docs/language.md`, generated from the catalog.

The tables between `<!-- fields:start -->` and `<!-- fields:end -->` in docs/language.md are
exactly `fields_markdown()`; a test fails when they drift. Rewrite them with

    python -m segflow.compiler.catalog_doc --write docs/language.md

or check them (exit 1 when stale) with `--check`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segflow.compiler.catalog import AGGREGATES, FIELDS, SCOPES, Level

START = "<!-- fields:start -->"
END = "<!-- fields:end -->"

_LEVEL_TITLES = {
    Level.CUSTOMER: ("Customer attributes", "Used bare, e.g. `country = \"CA\"`."),
    Level.FACT: ("Customer facts", "Computed from the customer's counted orders as of the "
                 "evaluation day; used bare, e.g. `order_count >= 2`."),
    Level.ORDER: ("Order attributes", "Used through an order scope (`first_order.source`) or "
                  "inside a filtered order set (`orders[source = \"pos\"]`)."),
    Level.LINE: ("Line item attributes", "Used like order attributes; an order matches when "
                 "some line item of that order matches."),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def fields_markdown() -> str:
    """The generated field, scope and aggregate tables (Markdown, ends with a newline)."""
    out: list[str] = []
    for level in Level:
        title, intro = _LEVEL_TITLES[level]
        out += [f"#### {title}", "", intro, "", "| Field | Type | Meaning | Example |",
                "|---|---|---|---|"]
        for f in FIELDS:
            if f.level is level:
                type_text = f.type.value if f.nullable else f"{f.type.value}, always set"
                out.append(f"| {_code(f.name)} | {type_text} | {_cell(f.doc)} | "
                           f"{_code(f.example)} |")
        out.append("")
    out += ["#### Order scopes", "", "| Scope | Meaning | Filtered set `scope[...]` |",
            "|---|---|---|"]
    for s in SCOPES.values():
        out.append(f"| {_code(s.name)} | {_cell(s.doc)} | {'yes' if s.aggregatable else 'no'} |")
    out += ["", "#### Aggregates of a filtered order set", "", "| Aggregate | Type | Meaning |",
            "|---|---|---|"]
    for name, (type_, doc) in AGGREGATES.items():
        out.append(f"| {_code('.' + name)} | {type_.value} | {_cell(doc)} |")
    out.append("")
    return "\n".join(out)


def marked_region(text: str) -> str | None:
    """The text between the markers (without them), or None when they are missing."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start + len(START):end].strip("\n") + "\n"


def rewrite(text: str) -> str:
    """`text` with the marked region replaced by the generated tables."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"markers {START} ... {END} not found")
    return f"{text[:start + len(START)]}\n\n{fields_markdown()}\n{text[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segflow.compiler.catalog_doc",
                                     description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", type=Path,
                       help="rewrite the marked region of FILE")
    group.add_argument("--check", metavar="FILE", type=Path,
                       help="exit 1 if the marked region of FILE is stale")
    args = parser.parse_args(argv)
    if args.write is None and args.check is None:
        sys.stdout.write(fields_markdown())
        return 0
    path = args.write or args.check
    try:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
    except (OSError, ValueError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if new != text:
            print(f"{path}: field tables are stale; run "
                  f"python -m segflow.compiler.catalog_doc --write {path}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"rewrote the field tables of {path}")
    else:
        print(f"{path}: field tables up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
