"""Every compiled rule runs on a real PostgreSQL and returns exactly the expected customers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_sources
from segflow.compiler.query import compile_project, render, segment_query
from segflow.dsl.parser import parse
from tests.compiler.store_data import AS_OF, TZ

HELPERS = """
segment loyals { where order_count >= 5 }
segment active { where days_since_last_order <= 30 }
segment one_timers { where order_count = 1 }
segment wholesale { list = "lists/wholesale.csv" }
"""

POPULATION = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]  # 11 was created after the as-of day


def project_for(rule: str, tmp_path: Path):
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "wholesale.csv").write_text("customer_id\n9\n1\n")
    src = parse(f"segment s {{\n  where {rule}\n}}\n{HELPERS}", "test.seg")
    return load_sources([src], tmp_path)


def run(conn: psycopg.Connection, rule: str, tmp_path: Path, as_of: dt.date = AS_OF) -> list[int]:
    query = segment_query(project_for(rule, tmp_path), "s", Evaluation(as_of, TZ))
    return [row[0] for row in conn.execute(render(query))]


CASES = [
    # facts, with customers with no orders, cancelled and test orders
    ("order_count = 0", [1, 6, 10, 13, 14]),
    ("order_count = 1", [2, 7, 8, 9, 12]),
    ("order_count between 2 and 4", [3, 5]),
    ("order_count >= 5", [4]),
    ("total_spent >= 60", [3, 4, 8, 9]),  # 9: 100 less a 40 refund
    ("total_spent = 0", [1, 6, 7, 10, 13, 14]),  # 7: a $0 order
    ("average_order_value >= 50", [2, 8, 9]),
    ("average_order_value is not set", [1, 6, 10, 13, 14]),
    ("purchase_interval = 0", [5]),  # two orders the same day
    ("purchase_interval >= 60", [3, 4]),
    # recency, at the day boundary of the store's time zone
    ("days_since_last_order <= 30", [2, 4, 5, 7, 12]),
    ("days_since_last_order = 0", [4, 12]),  # 12: 23:59:59 on the as-of day counts
    ("days_since_last_order > 90", [8]),
    ("days_since_last_order > 30 and days_since_last_order <= 90", [3, 9]),
    ("not days_since_last_order <= 30", [1, 3, 6, 8, 9, 10, 13, 14]),
    ("days_since_last_order between 31 and 90", [3, 9]),
    ("days_since_first_order in [0, 14]", [2, 12]),
    ("days_since_first_order is set", [2, 3, 4, 5, 7, 8, 9, 12]),  # issue 15.13: a TypeError
    ("days_since_last_order is not set", [1, 6, 10, 13, 14]),
    ("first_order_date between 2024-12-01 and 2025-01-31", [3, 9]),
    ("last_order_date = 2025-03-15", [4, 12]),
    ("last_order_date >= today - 5d", [4, 5, 12]),
    ("created_date < 2024-03-01", [1, 2, 8]),
    # order scopes are existential
    ('first_order.product = "Coffee Starter Kit"', [2, 3]),
    ('first_order.product = "Coffee Starter Kit" and later_orders.product = "Coffee Beans Refill"',
     [3]),
    ('first_order.product = "Coffee Starter Kit" and not later_orders.product = "Coffee Beans Refill"',
     [2]),
    ('later_orders.product != "Coffee Beans Refill"', [1, 2, 4, 6, 7, 8, 9, 10, 12, 13, 14]),
    ('second_order.product = "Coffee Beans Refill"', [3, 5]),
    ('last_order.product = "Ceramic Mug"', [4]),
    ('last_order.product = "Coffee Beans Refill"', [3, 5]),  # 8's refill is after the as-of day
    ('orders.product = "Coffee Beans Refill"', [3, 5]),
    ('orders.sku starts with "esp"', [4, 9]),
    ('orders.vendor = "Gift"', [7]),
    ("orders.quantity >= 4", [9]),
    ('first_order.discount_code = "WELCOME10"', [3]),
    ('orders.order_tags = "subscription"', [3]),
    ("orders.discount_code is set", [3]),
    ('first_order.utm_source in ["facebook", "instagram"]', [2]),
    ('orders.utm_source = "instagram"', [4]),
    ("first_order.total >= 50", [2, 3, 8, 9]),
    ("orders.total = 0", [7]),
    ('first_order.channel = "draft_order"', [7]),
    ('orders.shipping_province = "QC"', [9]),
    ("orders.date = 2025-03-10", [5]),
    ("last_order.date >= today - 1w", [4, 5, 12]),
    # filtered order sets
    ("orders[date >= today - 30d].count >= 1", [2, 4, 5, 7, 12]),
    ('orders[source = "web"].count >= 3', [4]),
    ('orders[source = "web"].total >= 50', [2, 3, 4, 8, 9]),
    ('later_orders[channel = "pos"].count = 1', [3]),
    ('orders[product = "Espresso Blend" and quantity >= 4].count >= 1', [9]),
    # both conditions on the same order: 108 has a mug and espresso, 109 a mug alone
    ('orders[product = "Ceramic Mug" and not product = "Espresso Blend"].count >= 1', [5]),
    ('orders[product = "Ceramic Mug"].count >= 1 and orders.product != "Espresso Blend"', [5]),
    ('orders[source = "web" except product = "Coffee Starter Kit"].count = 1', [5, 8, 9, 12]),
    # customer attributes, lists, strings, booleans
    ('tags = "vip"', [1, 4]),
    ('tags contains "vip"', [1, 4, 9]),
    ('tags in ["wholesale", "loyal"]', [4, 9]),
    ('tags starts with "VIP "', [9]),
    ("tags is not set", [2, 3, 5, 6, 7, 8, 10, 12, 13, 14]),
    ('province = "ON"', [1, 4, 6, 8, 10, 12, 13]),
    ('province != "ON"', [2, 3, 5, 7, 9, 14]),  # no province: != is the negation of =
    ('province not in ["ON", "QC"]', [3, 5, 7, 14]),
    ("province is not set", [7, 14]),
    ('city starts with "mont"', [2]),
    ('email contains "EXAMPLE"', POPULATION),
    ("accepts_marketing", [1, 3, 4, 8, 9]),
    ("not accepts_marketing", [2, 5, 6, 7, 10, 12, 13, 14]),
    ("accepts_marketing = false", [2, 5, 6, 7, 10, 12, 13, 14]),
    ('email = "o\'neil@example.com"', [14]),
    ('email = "x\'; drop table customers; --"', []),
    # segments from segments, static lists
    ("segment active except segment loyals", [2, 5, 7, 12]),
    ("segment loyals except segment active", []),
    ("segment loyals or segment one_timers", [2, 4, 7, 8, 9, 12]),
    ("segment wholesale and accepts_marketing", [1, 9]),
    ("not segment wholesale and tags is set", [4]),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_returns_exact_customers(pg_conn, tmp_path, rule, expected):
    assert run(pg_conn, rule, tmp_path) == expected


def test_injection_attempt_stays_a_string(pg_conn, tmp_path):
    run(pg_conn, 'email = "x\'; drop table store.customers; --"', tmp_path)
    assert pg_conn.execute("select count(*) from store.customers").fetchone()[0] == 14


@pytest.mark.parametrize(
    ("rule", "as_of", "expected"),
    [
        # an as-of day in the past: later orders and later customers do not exist yet
        ("order_count >= 1", dt.date(2024, 12, 31), [3, 4, 8]),
        ("order_count = 0", dt.date(2024, 12, 31), [1, 2, 5, 6, 7, 9, 10, 12, 13, 14]),
        ("order_count = 4", dt.date(2024, 12, 31), [4]),
        ('last_order.product = "Coffee Starter Kit"', dt.date(2025, 1, 31), [3]),
        # the day after: orders of 2025-03-16 count, customer 11 still not created
        ('orders.product = "Coffee Beans Refill"', dt.date(2025, 3, 16), [3, 5, 8]),
        ('last_order.product = "Coffee Beans Refill"', dt.date(2025, 3, 16), [3, 5, 8]),
        ("days_since_last_order = 0", dt.date(2025, 3, 16), [8, 13]),
        ("order_count = 0", dt.date(2025, 4, 1), [1, 6, 10, 11, 14]),
    ],
)
def test_rule_as_of_another_day(pg_conn, tmp_path, rule, as_of, expected):
    assert run(pg_conn, rule, tmp_path, as_of) == expected


def test_all_segments_over_one_facts_relation_agree_with_single_queries(pg_conn, tmp_path):
    """The run's shape (one facts pass, every predicate over it) gives the same members."""
    rules = [c[0] for c in CASES[:40]]
    text = "\n".join(f"segment s{i} {{ where {r} }}" for i, r in enumerate(rules)) + HELPERS
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "wholesale.csv").write_text("customer_id\n9\n1\n")
    project = load_sources([parse(text, "all.seg")], tmp_path)
    ev = Evaluation(AS_OF, TZ)
    compiled = compile_project(project, ev)
    pg_conn.execute(f"CREATE TEMP TABLE facts AS {render(compiled.facts_query())}")
    for i, (_rule, expected) in enumerate(CASES[:40]):
        pred = render(compiled.predicates[f"s{i}"])
        got = [r[0] for r in pg_conn.execute(
            f"SELECT customer_id FROM facts AS f WHERE {pred} ORDER BY 1")]
        assert got == expected, rules[i]
