"""The daily run with `lines[...]` and the set aggregates (issue 19, items 3 and 4): incremental
runs give exactly what a full recompute gives.

Which of them move with the calendar: `.days_since_last` / `.days_since_first` always (their
facts, the latest / earliest order's instant, are data only; the rule compares them with a day
counted back from the evaluation day), and any aggregate whose condition reads `today`
(`lines[date >= today - 90d].quantity`); `.last_date` / `.first_date` against a fixed date, and
count, quantity, revenue, average, max, distinct without `today`, only with the store data.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.compiler import incremental as daysplit
from segflow.compiler.evaluation import Evaluation
from tests.runtime import helpers as h
from tests.runtime.helpers import GENERATED_END as END
from tests.runtime.test_incremental import _change_store, _mode, _recomputed, _snapshot

RULES = """
segment refill_lapsed { where orders[product = "Coffee Beans Refill"].days_since_last >= 30 }
segment refill_recent { where lines[product = "Coffee Beans Refill"].days_since_last <= 20 }
segment beans_quarter {
  where lines[product = "Coffee Beans Refill" and date >= today - 90d].quantity >= 2
}
segment espresso_pos { where lines[product = "Espresso Blend" and order.source = "pos"].count >= 1 }
segment drip_spenders { where lines[vendor = "Drip & Co"].revenue >= 100 }
segment explorers { where orders.distinct(product_type) >= 3 }
segment big_basket { where later_orders.average >= 60 }
segment big_year { where orders[date >= today - 365d].max >= 150 }
segment since_first { where orders.days_since_first between 100 and 400 }
segment pos_early { where orders[source = "pos"].first_date <= 2025-06-30 }
segment kit_extras {
  where lines[order.product = "Coffee Starter Kit" and product != "Coffee Starter Kit"].count >= 2
}
segment line_days { where lines.distinct(date) >= 3 and orders.count >= 3 }
"""


@pytest.fixture
def sets_store(conn, tmp_path):
    from segflow.sources.synth import generate_store

    with conn.transaction():
        generate_store(conn, 600, 11, END)
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path, today=END - dt.timedelta(days=30))
    return tmp_path


def _add_line(conn, step: int) -> None:
    """A line added to an existing order (a line-only change: the order row stays)."""
    order_id = conn.execute("SELECT order_id FROM store.orders WHERE customer_id IS NOT NULL"
                            " AND cancelled_at IS NULL ORDER BY order_id OFFSET %s LIMIT 1",
                            (step * 53,)).fetchone()[0]
    conn.execute("INSERT INTO store.order_lines (order_id, line_no, product, vendor, product_type,"
                 " quantity, price) VALUES (%s, 99, 'Burr Grinder', 'Drip & Co',"
                 " 'Brewing Equipment', 2, 89)", (order_id,))


def test_incremental_runs_equal_full_recompute(conn, sets_store):
    root = sets_store
    days = [END - dt.timedelta(days=n) for n in (30, 29, 29, 26, 19, 5, 4, 0)]
    changed = 0
    for step, day in enumerate(days):
        if step:
            _change_store(conn, day, step)
            _add_line(conn, step)
        result = h.run(conn, day, root)
        changed += result.entered + result.left
        assert _mode(conn) == ("rebuild" if step == 0 else "advance")
        incremental = _snapshot(conn, day)
        full, again = _recomputed(conn, day, root)
        assert (again.entered, again.left, again.snapshots) == (0, 0, 0), day
        assert incremental == full, day
    assert changed


def test_which_constructs_move_with_the_calendar(tmp_path):
    split = daysplit.split(h.project(RULES, tmp_path), Evaluation(END, h.TZ))
    assert split.moving_segments == {"refill_lapsed", "refill_recent", "beans_quarter",
                                     "big_year", "since_first"}
