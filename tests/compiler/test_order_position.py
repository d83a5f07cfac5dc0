"""The Nth order, time between orders and what happened to an order (issue 19, items 1, 2, 9),
on the hand-built store: exact customers, positioned errors, SQL under snapshot."""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.compiler.checker import check_files
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from segflow.dsl.parser import parse
from tests.compiler.store_data import AS_OF, TZ
from tests.compiler.test_compile_pg import project_for, run

# customer 3: kit 2024-12-01, beans 2025-02-01 (pos): 62 days apart
# customer 4: espresso 2024-06-01, -08-01, -10-01, -12-01, then espresso + mug 2025-03-15 23:30
# customer 5: a mug (pos, 09:00) and beans (web, 15:00) the same day
# customer 8: a grinder 2024-03-01, beans 2025-03-16 00:30 (the day after the as-of day)
CASES = [
    # time between orders
    ("second_order.days_since_previous <= 14", [5]),
    ("second_order.days_since_previous = 62", [3]),
    ("last_order.days_since_previous > 90", [4]),  # 2024-12-01 -> 2025-03-15: 104 days
    ("last_order.days_since_previous > 180", []),
    ("first_order.days_since_previous is set", []),  # the first order has no previous one
    ("orders.days_since_previous is set", [3, 4, 5]),
    ("last_order.days_since_previous is not set", [1, 2, 6, 7, 8, 9, 10, 12, 13, 14]),
    ("orders[days_after_first <= 30].count >= 2", [5]),
    ("orders[days_after_first = 0].count = 1", [2, 3, 4, 7, 8, 9, 12]),
    ('later_orders[product = "Coffee Beans Refill" and days_after_first <= 70].count >= 1',
     [3, 5]),
    ("last_order.days_after_first >= 287", [4]),  # 2024-06-01 -> 2025-03-15
    # the Nth order
    ('order(1).product = "Coffee Starter Kit"', [2, 3]),
    ('order(3).product = "Espresso Blend"', [4]),
    ('order(5).product = "Ceramic Mug"', [4]),
    ("order(6).product is set", []),  # beyond every customer's orders
    ('order(6).product != "Ceramic Mug"', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]),
    ('orders[number >= 3 and product = "Espresso Blend"].count >= 1', [4]),
    ("orders[number = 2].count = 1", [3, 4, 5]),
    ("last_order.number >= 5", [4]),
    ('previous_order.channel = "online_store" and last_order.channel = "pos"', [3]),
    ('previous_order.channel = "pos" and last_order.channel = "online_store"', [5]),
    ('previous_order.product = "Espresso Blend"', [4]),
    ("previous_order.total is set", [3, 4, 5]),
    # what happened to an order
    ("orders[refunded > 0].count >= 1", [9]),
    ("orders.refunded >= 40", [9]),
    ("orders[refunded = 0].count >= 5", [4]),
    ("orders.cancelled", []),  # counted orders are never cancelled
    ("orders.financial_status is set", []),  # the hand-built store has no statuses
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_returns_exact_customers(pg_conn, tmp_path, rule, expected):
    assert run(pg_conn, rule, tmp_path) == expected


@pytest.mark.parametrize(
    ("rule", "as_of", "expected"),
    [
        # 8's second order, 00:30 on the 16th, is 380 days after the first
        ("last_order.days_since_previous > 180", dt.date(2025, 3, 16), [8]),
        ('order(2).product = "Coffee Beans Refill"', dt.date(2025, 3, 16), [3, 5, 8]),
        # before 4's fifth order: the previous order is the third
        ('previous_order.date = 2024-10-01', dt.date(2025, 3, 14), [4]),
        ("last_order.number = 4", dt.date(2025, 3, 14), [4]),
    ],
)
def test_rule_as_of_another_day(pg_conn, tmp_path, rule, as_of, expected):
    assert run(pg_conn, rule, tmp_path, as_of) == expected


def test_order_one_compiles_as_first_order(tmp_path):
    ev = Evaluation(AS_OF, TZ)
    nth = render(segment_query(project_for('order(1).product = "A"', tmp_path), "s", ev))
    first = render(segment_query(project_for('first_order.product = "A"', tmp_path), "s", ev))
    assert nth == first


def _problems(rule: str) -> list[str]:
    src = parse(f"segment s {{\n  where {rule}\n}}\n", "x.seg")
    return [d.render() for d in check_files([src])]


@pytest.mark.parametrize(
    ("rule", "message", "col"),
    [
        ('order(0).product = "A"', "order(N) counts from 1", 15),
        ('order(-2).product = "A"', "order(N) counts from 1", 15),
        ('order(1.5).product = "A"', "order(N) takes a whole number; 1.5 is not", 15),
        ('orders(2).product = "A"', "unknown numbered scope 'orders(...)'", 9),
        ('order(2).prodct = "A"', "unknown order field 'prodct' — did you mean 'product'?", 18),
        ('orders[order(2).product = "A"].count >= 1', "cannot be used inside an order filter",
         16),
        ("order(2).days_since_previous >= 1.5", "is a whole number; 1.5 is not", 41),
        ('order(2).days_after_first = "x"', "type mismatch", 37),
        ('previous_order.cancelled = 1', "type mismatch", 36),
        ('orders[refunded contains "x"].count >= 1', "operator 'contains' does not apply", 16),
        ('previous_order[total > 1].count >= 1', "'previous_order' is a single order", 9),
    ],
)
def test_positioned_errors(rule, message, col):
    problems = _problems(rule)
    assert len(problems) == 1, problems
    assert message in problems[0]
    assert problems[0].startswith(f"x.seg:2:{col}:"), problems[0]


SNAPSHOT_RULES = [
    "second_order.days_since_previous <= 14",
    'later_orders[product = "Coffee Beans Refill" and days_after_first <= 30].count >= 1',
    'order(3).product = "Burr Grinder"',
    'orders[number >= 3 and product = "X"].count >= 1',
    'previous_order.channel = "online_store" and last_order.channel = "pos"',
    "orders[refunded > 0 and date >= today - 90d].count >= 1",
    "cancelled_orders.count >= 2",
    'cancelled_orders[date >= today - 90d and product = "X"].total > 0',
]


@pytest.mark.parametrize("rule", SNAPSHOT_RULES, ids=SNAPSHOT_RULES)
def test_compiled_sql(rule, tmp_path, snapshot):
    query = segment_query(project_for(rule, tmp_path), "s", Evaluation(AS_OF, TZ))
    assert render(query) == snapshot


CANCELLED_CASES = [
    ("cancelled_orders.count >= 1", [6]),  # 6's only order was cancelled the day it was placed
    ("cancelled_orders.count = 0 and order_count = 0", [1, 10, 13, 14]),
    ('cancelled_orders[product = "Coffee Starter Kit"].count = 1', [6]),
    ("cancelled_orders[cancelled].count >= 1", [6]),
    ("cancelled_orders[number is set].count >= 1", []),  # cancelled orders have no position
    ("cancelled_orders.total >= 40", [6]),
    ('cancelled_orders.product = "Coffee Starter Kit"', [6]),
    ('cancelled_orders.product = "Coffee Starter Kit" and orders.product = "Coffee Beans Refill"',
     []),
]


@pytest.mark.parametrize(("rule", "expected"), CANCELLED_CASES, ids=[c[0] for c in CANCELLED_CASES])
def test_cancelled_orders(pg_conn, tmp_path, rule, expected):
    assert run(pg_conn, rule, tmp_path) == expected


def test_cancelled_orders_as_of_before_the_cancellation(pg_conn, tmp_path):
    # 111 was placed and cancelled on 2025-01-01: not yet on 2024-12-31
    assert run(pg_conn, "cancelled_orders.count >= 1", tmp_path, dt.date(2024, 12, 31)) == []
    assert run(pg_conn, "cancelled_orders.count >= 1", tmp_path, dt.date(2025, 1, 1)) == [6]
