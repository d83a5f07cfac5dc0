"""The SQL of every construct, under snapshot: deterministic and reviewable."""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from tests.compiler.test_compile_pg import CASES, project_for

RULES = [rule for rule, _ in CASES]


@pytest.mark.parametrize("rule", RULES, ids=RULES)
def test_compiled_sql(rule, tmp_path, snapshot):
    query = segment_query(project_for(rule, tmp_path), "s", Evaluation(dt.date(2025, 3, 15),
                                                                       "America/Toronto"))
    assert render(query) == snapshot


def test_output_is_deterministic(tmp_path):
    rule = 'first_order.product = "A" and orders[source = "pos"].count >= 2 and tags = "x"'
    ev = Evaluation(dt.date(2025, 3, 15), "UTC")
    first = render(segment_query(project_for(rule, tmp_path), "s", ev))
    assert all(render(segment_query(project_for(rule, tmp_path), "s", ev)) == first
               for _ in range(3))


def test_user_strings_are_quoted(tmp_path):
    sql = render(segment_query(project_for('email = "x\'; drop table customers; --"', tmp_path),
                               "s", Evaluation(dt.date(2025, 3, 15), "UTC")))
    assert "'x''; drop table customers; --'" in sql


def test_dialect_is_a_parameter(tmp_path):
    query = segment_query(project_for("order_count >= 2", tmp_path), "s",
                          Evaluation(dt.date(2025, 3, 15), "UTC"))
    assert "COUNT(*)" in render(query, dialect="duckdb")
