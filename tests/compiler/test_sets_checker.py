"""The checker on `lines[...]` and the set aggregates: each mistake gets one positioned message."""

from __future__ import annotations

import pytest

from segflow.compiler.checker import check_files
from segflow.dsl.parser import parse

VALID = [
    'lines[product = "Coffee Beans Refill" and date >= today - 90d].quantity >= 10',
    'lines[vendor = "Acme"].revenue >= 200',
    'lines[product = "Espresso" and order.source = "pos"].count >= 1',
    'lines[order.product = "Kit" and product_tags = "x" and order.order_tags = "y"].max > 1',
    'orders[product = "Coffee Beans Refill"].days_since_last >= 30',
    "orders.distinct(product_type) >= 3",
    "later_orders.distinct(date) >= 2 and orders.count >= 2 and lines.count >= 1",
    "orders.last_date between 2024-01-01 and today and orders[total > 10].first_date is set",
    "lines.average is not set or lines.days_since_first in [1, 2]",
    # unchanged: `orders.FIELD` is "some order / some line has"
    "orders.total >= 100 and orders.quantity >= 3",
    # nth and lines together
    'cancelled_orders.count >= 1 and orders[number >= 2].days_since_last <= 30',
    'lines[order.number = 2 and product = "x"].quantity >= 1 and order(3).product = "y"',
]

INVALID = [
    'lines.product = "X"',
    'orders[product = "X"].quantity >= 1',
    'orders.revenue > 1',
    'lines[vendor = "A"].total > 1',
    "lines[order_count > 1].count > 1",
    'lines[orders.source = "pos"].count > 1',
    "lines[segment other].count >= 1",
    'lines[lines[product = "x"].count > 1].count > 0',
    'orders[lines.count > 1].count > 1',
    "orders.distinct(order_tags) > 1",
    "orders.distinct(prodct) > 1",
    "orders.distinct > 1",
    "orders.count(product) > 1",
    "first_order.days_since_last > 1",
    'lines[order.prodct = "x"].count >= 1',
    'orders.days_since_last = "x"',
    "orders.last_date >= 3",
    "lines.revnue > 1",
    'lnes[product = "x"].count > 1',
    "lines.count",
    # nth's cancelled_orders is a set with count and total only
    "cancelled_orders.max > 1",
    'cancelled_orders[product = "x"].days_since_last > 1',
    "previous_order.days_since_last > 1",
]


def _problems(rule: str) -> list[str]:
    text = f"segment s {{\n  where {rule}\n}}\nsegment other {{ where order_count > 1 }}\n"
    return [d.render() for d in check_files([parse(text, "s.seg")])]


@pytest.mark.parametrize("rule", VALID, ids=VALID)
def test_valid(rule):
    assert _problems(rule) == []


@pytest.mark.parametrize("rule", INVALID, ids=INVALID)
def test_one_positioned_message(rule, snapshot):
    problems = _problems(rule)
    assert len(problems) == 1, problems
    assert problems[0].startswith("s.seg:2:")
    assert problems[0] == snapshot
