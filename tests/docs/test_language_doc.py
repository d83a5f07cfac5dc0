"""docs/language.md documents every field, scope and aggregate, and its examples are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segflow.compiler.catalog import AGGREGATES, FIELDS, SCOPES
from segflow.compiler.catalog_doc import END, START, fields_markdown, marked_region, rewrite
from segflow.compiler.checker import check_files
from segflow.dsl.parser import parse
from segflow.errors import SegflowError

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
FIX = "run `python -m segflow.compiler.catalog_doc --write docs/language.md`"
FENCE = re.compile(r"^```seg[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def prose(doc: str) -> str:
    """The document outside the generated region."""
    return doc[: doc.index(START)] + doc[doc.index(END) + len(END):]


def _names():
    return ([("field", f.name) for f in FIELDS] + [("scope", s) for s in SCOPES]
            + [("aggregate", a) for a in AGGREGATES])


def _mentioned(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)|\.{re.escape(name)}(?!\w)", text) \
        is not None


def test_generated_region_is_up_to_date(doc):
    region = marked_region(doc)
    assert region is not None, f"markers {START} / {END} missing from docs/language.md; add them"
    assert region == fields_markdown(), f"the field tables of docs/language.md are stale: {FIX}"


def test_rewrite_is_idempotent(doc):
    assert rewrite(rewrite(doc)) == rewrite(doc)


@pytest.mark.parametrize(("kind", "name"), _names(), ids=[f"{k}:{n}" for k, n in _names()])
def test_documented_in_table_and_prose(doc, prose, kind, name):
    table = fields_markdown()
    assert f"`{name}`" in table or f"`.{name}`" in table, f"{kind} '{name}' missing from the table"
    region = marked_region(doc) or ""
    assert f"`{name}`" in region or f"`.{name}`" in region, \
        f"{kind} '{name}' missing from the tables of docs/language.md: {FIX}"
    assert _mentioned(name, prose), f"{kind} '{name}' is not described in the prose of " \
        "docs/language.md"


def _check(text: str, path: str) -> list[str]:
    try:
        source = parse(text, path)
    except SegflowError as exc:
        return [d.render() for d in exc.diagnostics]
    return [d.render() for d in check_files([source])]


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
def test_catalog_example_parses_and_checks(field):
    problems = _check(f"segment s {{ where {field.example} }}\n", f"<example of {field.name}>")
    assert problems == [], "\n".join(problems)


def _seg_blocks() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


def test_doc_has_seg_examples():
    assert len(_seg_blocks()) >= 5


@pytest.mark.parametrize(("line", "block"), _seg_blocks(), ids=[f"line{n}" for n, _ in _seg_blocks()])
def test_seg_block_parses_and_checks(line, block):
    problems = _check(block, f"docs/language.md (block at line {line})")
    assert problems == [], "\n".join(problems)
