"""Fuzzing `seg validate`: whatever the text, it validates or gives diagnostics, never a traceback.

Structure-aware: the inputs are the example project's files and the rendered templates, mutated
(spans deleted, duplicated, moved; tokens, keywords in the wrong case, control characters, huge
literals inserted), plus deeply nested rules and long reference chains. Each input goes through
what `seg validate` does — parse, check, compile every segment as the daily run would — and,
when it validates, through `seg fmt` (the output parses to the same trees and formats to itself)
and the parse cache (the trees pickle and unpickle). Diagnostics are rendered in every format.

Deterministic (derandomized, no example database) and sized for about 20 s on CI.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.cli.diagnostics import as_github, as_json, as_text
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import build_project
from segflow.compiler.query import compile_checked, render
from segflow.dsl.formatter import format_source
from segflow.dsl.parser import parse
from segflow.errors import SegflowError
from segflow.templates.library import templates

ROOT = Path(__file__).resolve().parents[2]
EV = Evaluation(dt.date(2025, 3, 15), "America/Toronto")

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@cache
def seeds() -> tuple[dict[str, str], ...]:
    """Valid projects: the example project, and each template rendered with its defaults."""
    example = {p.name: p.read_text("utf-8") for p in sorted((ROOT / "segments").glob("*.seg"))}
    return (example, *({"t.seg": t.render()} for _, t in sorted(templates().items())))


def validate(files: dict[str, str]) -> list:
    """What `seg validate` does with the files, in process; returns the diagnostics."""
    sources, problems = [], []
    for path, text in files.items():
        try:
            sources.append(parse(text, path))
        except SegflowError as exc:
            problems += exc.diagnostics
    try:
        project = build_project(sources, ROOT, problems, check_list_files=False)
        compiled, problems = compile_checked(project, EV)
    except SegflowError as exc:
        return exc.diagnostics
    if not problems:
        for predicate in compiled.predicates.values():
            render(predicate)
        render(compiled.facts_query())
        for source in sources:
            _round_trip(source)
    return problems


def _round_trip(source) -> None:
    text = format_source(source)
    again = parse(text, source.path)
    assert again.decls == source.decls, text
    assert format_source(again) == text
    assert pickle.loads(pickle.dumps(source.decls, protocol=pickle.HIGHEST_PROTOCOL)) == source.decls


def no_traceback(files: dict[str, str]) -> None:
    problems = validate(files)
    for d in problems:  # every diagnostic renders, in every format
        assert d.message
        d.render()
    as_text(problems), as_json(problems), as_github(problems)


# ---------------------------------------------------------------- what gets inserted

KEYWORDS = ["segment", "group", "where", "and", "or", "not", "except", "in", "contains", "starts",
            "with", "is", "set", "between", "true", "false", "today", "AND", "Or", "NOT", "ends",
            "matches", "like", "orders", "first_order", "later_orders", "count", "total",
            "order(3).", "order(0).", "order(", "previous_order", "cancelled_orders", "number",
            "days_since_previous", "days_after_first", "refunded", "cancelled",
            "lines", "order", "distinct", "revenue", "quantity", "days_since_last", "(", ")"]
PUNCT = ["{", "}", "[", "]", "(", ")", "=", "!=", "<=", ">=", "<", ">", ",", ".", '"', '"""',
         "'", "#", "\\", "+", "-", "==", "&&", "||", ";"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\r", "\t", "\n",
           "\ufeff", "\u2028", "\u200b", "\ud7ff", "\U0001f600"]
HUGE = [
    "9" * 30, "9" * 5000, "-" + "1" * 25 + ".5", "0." + "0" * 40 + "1", "99999999d", "9" * 400 + "y",
    "9999-12-31", "0001-01-01", "2024-02-30", '"' + "x" * 20_000 + '"', '"' + "\\" * 7 + '"',
]
_COMPARISON = re.compile(r"(<=|>=|!=|=|<|>|contains|starts with|in) +(\"[^\"]*\"|\[[^\]]*\]|[\w.-]+)")
OPERATIONS = ["is set", "is not set", "= 1", "= 0.5", '= "x"', "= true", "= today", "in []",
              'in ["a", 1]', "not in [2024-01-01]", 'contains ""', 'starts with "x"',
              "between 2 and 1", "between today - 1d and today", ">= 2024-02-29", "<= -1",
              "= 9999-12-31", ">= today + 100000y", "!= false", "= 99999999999999999999"]
tokens = st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(PUNCT), st.sampled_from(CONTROL),
                   st.sampled_from(HUGE), st.text(max_size=6),
                   st.integers(-10**6, 10**6).map(str))


@st.composite
def mutated(draw) -> dict[str, str]:
    """A valid project with one file edited a few times: spans deleted, duplicated or moved,
    tokens inserted, a stretch in upper case."""
    files = dict(draw(st.sampled_from(seeds())))
    name = draw(st.sampled_from(sorted(files)))
    files[name] = _mutate(draw, files[name])
    return files


def _mutate(draw, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 40)))
        match draw(st.sampled_from(["delete", "duplicate", "move", "insert", "insert", "case",
                                    "operator", "operator"])):
            case "operator":  # another operator and value after some field: types meet
                spots = list(_COMPARISON.finditer(text))
                if spots:
                    spot = draw(st.sampled_from(spots))
                    text = text[:spot.start()] + draw(st.sampled_from(OPERATIONS)) + text[spot.end():]
            case "delete":
                text = text[:i] + text[j:]
            case "duplicate":
                text = text[:j] + text[i:j] + text[j:]
            case "move":
                chunk, rest = text[i:j], text[:i] + text[j:]
                k = draw(st.integers(0, len(rest)))
                text = rest[:k] + chunk + rest[k:]
            case "insert":
                token = draw(tokens)
                text = text[:i] + draw(st.sampled_from(["", " "])) + token + " " + text[i:]
            case "case":
                text = text[:i] + text[i:j].upper() + text[j:]
    return text


def _nest(draw, depth: int) -> str:
    rule = draw(st.sampled_from(["order_count > 1", "email contains \"x\"", "segment base",
                                 "orders[total > 5].count >= 1", "tags is set",
                                 'lines[order.source = "pos"].revenue > 1',
                                 "orders.distinct(product) >= 2"]))
    for level in range(depth):
        rule = draw(st.sampled_from([
            f"not {rule}", f"not ({rule})", f"({rule})", f"total_spent > {level} and ({rule})",
            f"total_spent > {level} or ({rule})", f"({rule}) except segment base",
            f"orders[not (total > {level})].count > 0 and ({rule})",
            f"lines[not (quantity > {level}) and date >= today - 1d].quantity > 0 or ({rule})",
        ]))
    return rule


@st.composite
def deep(draw) -> dict[str, str]:
    """Rules nested to any depth, date offsets in long runs, long chains of references."""
    depth = draw(st.one_of(st.integers(0, 120), st.sampled_from([200, 500, 1000, 1500])))
    rule = _nest(draw, depth)
    offsets = " - 1d" * draw(st.sampled_from([1, 50, 99, 150, 3000]))
    files = {"a.seg": f"segment base {{\n  where order_count >= 1\n}}\n\nsegment deep {{\n"
                      f"  where {rule}\n}}\n\nsegment dates {{\n  where last_order_date >= today"
                      f"{offsets}\n}}\n"}
    chain = draw(st.sampled_from([0, 10, 60, 99, 101, 400]))
    links = [f"segment c{i} {{\n  where segment {'c' + str(i - 1) if i else 'base'} and "
             f"order_count > {i}\n}}\n" for i in range(chain)]
    files["b.seg"] = "\n".join(links)
    return files


# ---------------------------------------------------------------- the tests


def test_the_seeds_validate():
    for files in seeds():
        assert validate(files) == [], files


@FUZZ
@given(mutated())
def test_mutated_files_never_crash(files):
    no_traceback(files)


@settings(FUZZ, max_examples=60)
@given(deep())
def test_deep_nesting_never_crashes(files):
    no_traceback(files)


@settings(FUZZ, max_examples=100)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300))
def test_any_text_never_crashes(text):
    no_traceback({"x.seg": text})
