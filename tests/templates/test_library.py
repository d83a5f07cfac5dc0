"""Every template instantiates with its fixed defaults, is formatted, validates and compiles."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from segflow.compiler.checker import check_files
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_sources
from segflow.compiler.query import render, segment_query
from segflow.dsl import ast
from segflow.dsl.formatter import format_text
from segflow.dsl.parser import parse
from segflow.errors import SegflowError
from segflow.templates import library
from segflow.templates.derive import DERIVERS
from segflow.templates.library import CATEGORIES, get, literal, templates

ALL = sorted(templates())
EV = Evaluation(dt.date(2025, 3, 15), "UTC")
DOC = Path(__file__).resolve().parents[2] / "docs" / "templates.md"


def test_library_size_and_categories():
    counts = Counter(t.category for t in templates().values())
    assert len(templates()) >= 50
    assert [c.name for c in CATEGORIES] == [
        "Customer Lifecycle (RFM)", "Specific Needs", "Initial Purchase", "Acquisition Channel",
        "Purchase Method", "Demographic", "Geographic", "Customer Journey", "Promote Repeats",
        "Promote Cross-sell", "Promote New Product", "Generate Revenue", "Wake Up Hibernating",
        "Reward Loyals"]
    for c in CATEGORIES:
        assert counts[c.name] >= 3, c.name


def test_metadata_complete():
    for t in templates().values():
        assert t.title and t.description and t.when_to_use and t.campaign_idea
        for p in t.params.values():
            assert p.doc, (t.id, p.name)
            assert p.derive is None or p.derive in DERIVERS, (t.id, p.derive)


@pytest.mark.parametrize("template_id", ALL)
def test_template_renders_formats_validates(template_id):
    t = get(template_id)
    text = t.render()
    assert format_text(text) == text  # already canonical
    assert format_text(format_text(text)) == text
    src = parse(text, f"{template_id}.seg")
    assert check_files([src]) == []
    (decl,) = src.decls
    assert isinstance(decl, ast.SegmentDecl) and decl.name == template_id
    assert decl.attr("tag") is None


@pytest.mark.parametrize("template_id", ALL)
def test_template_compiles(template_id, snapshot, tmp_path):
    project = load_sources([parse(get(template_id).render(), "t.seg")], tmp_path)
    assert render(segment_query(project, template_id, EV)) == snapshot


def test_rfm_fixed_defaults():
    assert get("one_timers").render().count("order_count = 1") == 1
    assert "order_count >= 2 and order_count < 5" in get("repeaters").render()
    assert "order_count >= 5" in get("loyals").render()
    assert "days_since_last_order <= 30" in get("active_customers").render()
    assert ("days_since_last_order > 60 and days_since_last_order <= 90"
            in get("at_risk_customers").render())
    assert "days_since_last_order > 90" in get("churned_customers").render()


def test_overrides_and_names():
    t = get("recent_product_buyers")
    text = t.render({"product": "Espresso Blend", "days": 14}, segment_id="espresso_2w",
                    title="Espresso, last 2 weeks")
    assert "segment espresso_2w {" in text
    assert 'title = "Espresso, last 2 weeks"' in text
    assert 'orders[date >= today - 14d and product = "Espresso Blend"].count >= 1' in text


@pytest.mark.parametrize("evil", [
    'x" or email is set or tags = "y', "a\\b", 'quote "inside"', "line\nbreak", "} segment z {",
])
def test_string_values_cannot_change_the_rule(evil):
    text = get("product_buyers").render({"product": evil})
    (decl,) = parse(text).decls
    cmp = decl.where.expr
    assert isinstance(cmp, ast.Compare) and cmp.value == ast.StringLit(evil)


def test_list_and_number_literals():
    text = get("region_customers").render({"provinces": ["BC", 'A"B']})
    assert 'province in ["BC", "A\\"B"]' in text
    assert literal(Decimal("99.50")) == "99.5"
    assert literal(Decimal("100.00")) == "100"
    assert literal(dt.date(2025, 1, 2)) == "2025-01-02"


def test_bad_values():
    t = get("loyals")
    with pytest.raises(SegflowError, match="has no parameter 'nope'"):
        t.render({"nope": 1})
    with pytest.raises(SegflowError, match="is an integer"):
        t.render({"loyal_min_orders": "5"})
    with pytest.raises(SegflowError, match="at least 3"):
        t.render({"loyal_min_orders": 1})
    with pytest.raises(SegflowError, match="is an integer"):
        t.params["loyal_min_orders"].parse("5.5")
    with pytest.raises(SegflowError, match="not a valid segment id"):
        t.render(segment_id="1bad id")
    with pytest.raises(SegflowError, match=r"unknown template 'loyal'.*loyals"):
        get("loyal")
    p = get("high_value_customers").params["amount"]
    assert p.parse("120.5") == Decimal("120.5")
    with pytest.raises(SegflowError, match="is a number"):
        p.parse("lots")


def test_search():
    assert {t.id for t in library.search("reward_loyals")} >= {"top_spenders", "active_loyals"}
    assert all(t.category == "Geographic" for t in library.search("Geographic"))
    assert "first_x_then_y" in {t.id for t in library.search(None, "first then")}
    with pytest.raises(SegflowError, match="unknown category"):
        library.search("nope")


def test_doc_is_current():
    text = DOC.read_text("utf-8")
    assert library.update_doc(text) == text, (
        "docs/templates.md is stale: run `python -m segflow.templates.library --doc`")
    for template_id in ALL:
        assert f"`{template_id}`" in text
