"""The SQL of `lines[...]` and of each set aggregate (issue 19, items 3 and 4), under snapshot."""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from tests.compiler.test_compile_pg import project_for

RULES = [
    'lines[product = "Coffee Beans Refill" and date >= today - 90d].quantity >= 10',
    'lines[vendor = "Acme"].revenue >= 200',
    'lines[product = "Espresso" and order.source = "pos"].count >= 1',
    'lines[order.product = "Kit" and product != "Kit"].average > 10',
    'orders[product = "Coffee Beans Refill"].days_since_last >= 30',
    "orders.days_since_first is set",
    'orders[source = "pos"].last_date >= 2025-01-01',
    "later_orders.first_date < today - 1y",
    "orders.distinct(product_type) >= 3",
    "later_orders.distinct(date) >= 2",
    'orders[channel = "pos"].max != 100',
    "lines.distinct(vendor) = 0",
    "orders.count >= 2",
]


@pytest.mark.parametrize("rule", RULES, ids=RULES)
def test_compiled_sql(rule, tmp_path, snapshot):
    query = segment_query(project_for(rule, tmp_path), "s", Evaluation(dt.date(2025, 3, 15),
                                                                       "America/Toronto"))
    assert render(query) == snapshot
