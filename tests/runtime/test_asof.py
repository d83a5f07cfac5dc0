"""A past day is evaluated with what was true that day, whoever wrote the store rows.

The hand-built store (tests/compiler/store_data.py, America/Toronto). Customer 3 bought the
Starter Kit (order 102, 2024-12-01) then Beans Refill (103, 2025-02-01); customer 4 has four
$20 orders (104-107) up to day D and one after it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
from sqlglot import exp

from segflow.compiler import facts
from segflow.compiler import nodes as n
from segflow.compiler.evaluation import Evaluation
from segflow.compiler.query import render, segment_query
from segflow.engines.postgres.db import migrations
from segflow.lifecycle.backfill import backfill
from tests.compiler.store_data import ts
from tests.runtime import helpers as h

D = dt.date(2025, 3, 10)
CHANGED = ts("2025-03-12 09:00")  # the cancellation's and the refund's day: after D
AFTER = dt.date(2025, 3, 13)

RULES = """
segment starter_first { where first_order.product = "Coffee Starter Kit" }
segment second_beans { where second_order.product = "Coffee Beans Refill" }
segment later_beans { where later_orders.product = "Coffee Beans Refill" }
segment last_beans { where last_order.product = "Coffee Beans Refill" }
segment repeaters { where order_count >= 2 }
segment big { where total_spent >= 70 }
segment buyers { where order_count >= 1 }
"""

METRICS = ("SELECT segment_id, customer_count, repeat_customer_rate, lifetime_value,"
           " average_order_value, average_order_count, purchase_interval_days"
           " FROM segflow.daily_metrics WHERE day = %s ORDER BY 1")
ACTIVITY = "SELECT segment_id, orders, revenue FROM segflow.daily_activity WHERE day = %s ORDER BY 1"


def _members(conn: psycopg.Connection, segment_ids) -> dict[str, list[int]]:
    return {sid: h.members(conn, sid) for sid in segment_ids}


def _day(conn: psycopg.Connection, project, day: dt.date) -> dict:
    """A day's recorded members, metrics and activity, and `seg compile --as-of` members."""
    compiled = {sid: [r[0] for r in conn.execute(render(segment_query(
        project, sid, Evaluation(day, h.TZ))))] for sid in sorted(project.segments)}
    return {"members": _members(conn, sorted(project.segments)),
            "metrics": conn.execute(METRICS, (day,)).fetchall(),
            "activity": conn.execute(ACTIVITY, (day,)).fetchall(),
            "compiled": compiled}


def _rerun(conn: psycopg.Connection, day: dt.date, root) -> None:
    """Recompute `day` from the store alone (the persisted facts thrown away)."""
    conn.execute("UPDATE segflow.facts_state SET valid = false")
    h.run(conn, day, root)


def _cancel_and_refund_after_d(conn: psycopg.Connection) -> None:
    """As a loader (or the user's SQL) writes them: both dated after D."""
    conn.execute("UPDATE store.orders SET cancelled_at = %s WHERE order_id = 102", (CHANGED,))
    conn.execute("INSERT INTO store.refunds (order_id, refund_id, created_at, amount)"
                 " VALUES (104, 1, %s, 20.00)", (CHANGED,))
    conn.execute("UPDATE store.orders SET refunded_amount = 20.00 WHERE order_id = 104")


def test_a_past_day_does_not_move_with_later_cancellations_and_refunds(conn, tmp_path):
    project = h.project(RULES, tmp_path)
    h.plan_apply(conn, project, tmp_path, today=D)
    h.run(conn, D, tmp_path)
    before = _day(conn, project, D)
    assert before["members"]["starter_first"] == [2, 3]
    assert 3 in before["members"]["second_beans"] and 3 in before["members"]["last_beans"]
    assert 4 in before["members"]["big"] and 3 in before["members"]["repeaters"]
    with conn.transaction(force_rollback=True):
        h.run(conn, AFTER, tmp_path)
        unchanged_after = _day(conn, project, AFTER)

    _cancel_and_refund_after_d(conn)

    with conn.transaction(force_rollback=True):  # the daily run's rebuild of D
        _rerun(conn, D, tmp_path)
        assert _day(conn, project, D) == before
    backfill(conn, tmp_path, h.TZ, None, D, D, overwrite=True)  # a backfill of D
    assert _day(conn, project, D) == before

    h.run(conn, AFTER, tmp_path)  # the day after the change: everything moves
    after = _day(conn, project, AFTER)
    assert after["members"]["starter_first"] == [2]
    assert 3 not in after["members"]["second_beans"] + after["members"]["later_beans"]
    assert 3 in after["members"]["last_beans"]  # its only counted order now
    assert 3 not in after["members"]["repeaters"] and 4 not in after["members"]["big"]
    moved = {m[0] for m, u in zip(after["metrics"], unchanged_after["metrics"], strict=True)
             if m != u}
    assert {"big", "buyers", "repeaters", "starter_first"} <= moved
    assert after["compiled"] == after["members"]
    with conn.transaction(force_rollback=True):  # and the incremental run equals a rebuild
        _rerun(conn, AFTER, tmp_path)
        assert _day(conn, project, AFTER) == after


def test_an_order_counts_until_the_day_it_is_cancelled_in_the_store_zone(conn, tmp_path):
    project = h.project(RULES, tmp_path)
    # cancelled at 23:30 on 03-11 in Toronto (03:30 UTC on 03-12): gone from 03-11 on
    conn.execute("UPDATE store.orders SET cancelled_at = %s WHERE order_id = 102",
                 (ts("2025-03-11 23:30"),))

    def members(day: dt.date) -> list[int]:
        return [r[0] for r in conn.execute(render(segment_query(
            project, "starter_first", Evaluation(day, h.TZ))))]

    assert members(dt.date(2025, 3, 10)) == [2, 3]
    assert members(dt.date(2025, 3, 11)) == [2]


def test_a_refund_is_subtracted_from_the_day_it_was_made(conn, tmp_path):
    """Dated refunds count from their day; the rest of `refunded_amount` (a CSV import has no
    dates) from the order's day."""
    conn.execute("INSERT INTO store.refunds (order_id, refund_id, created_at, amount)"
                 " VALUES (115, 1, %s, 30.00)", (CHANGED,))  # 30 of order 115's 40 refunded

    def spent(day: dt.date) -> Decimal:
        compiled = compile_facts(day)
        return conn.execute(f"SELECT total_spent FROM ({compiled}) AS f"
                            " WHERE customer_id = 9").fetchone()[0]

    assert spent(dt.date(2025, 3, 11)) == Decimal("90.00")  # 100 less the undated 10
    assert spent(dt.date(2025, 3, 12)) == Decimal("60.00")


def compile_facts(day: dt.date) -> str:
    from segflow.compiler.facts import FactSet
    from segflow.compiler.query import CompiledProject

    return render(CompiledProject(Evaluation(day, h.TZ), FactSet(), {}).facts_query())


def test_orders_written_by_plain_sql_have_their_scopes(conn, tmp_path):
    """No loader fills `customer_order_index` for them: the run still sees first / second /
    later / last orders."""
    project = h.project(RULES, tmp_path)
    h.plan_apply(conn, project, tmp_path, today=D)
    h.run(conn, D, tmp_path)
    conn.execute(
        "INSERT INTO store.orders (order_id, customer_id, placed_at, total_price) VALUES"
        " (901, 1, %s, 50), (902, 1, %s, 30), (903, 1, %s, 30)",
        (ts("2025-03-11 10:00"), ts("2025-03-11 11:00"), ts("2025-03-12 11:00")))
    conn.execute(
        "INSERT INTO store.order_lines (order_id, line_no, product, quantity, price) VALUES"
        " (901, 1, 'Coffee Starter Kit', 1, 50), (902, 1, 'Coffee Beans Refill', 1, 30),"
        " (903, 1, 'Coffee Beans Refill', 1, 30)")
    assert conn.execute("SELECT count(*) FROM store.orders WHERE order_id > 900"
                        " AND customer_order_index IS NULL").fetchone()[0] == 3
    h.run(conn, AFTER, tmp_path)
    for sid in ("starter_first", "second_beans", "later_beans", "last_beans", "repeaters"):
        assert 1 in h.members(conn, sid), sid
    # and the stored index the read models use is brought up to date by the run
    assert conn.execute("SELECT order_id, customer_order_index FROM store.orders"
                        " WHERE order_id > 900 ORDER BY 1").fetchall() == [(901, 1), (902, 2),
                                                                            (903, 3)]


def test_a_changed_base_fact_rebuilds_the_persisted_facts(conn, tmp_path, monkeypatch):
    project = h.project(RULES, tmp_path)
    h.plan_apply(conn, project, tmp_path, today=D)
    h.run(conn, D, tmp_path)
    spent = "SELECT total_spent FROM segflow.customer_facts WHERE customer_id = 9"
    assert conn.execute(spent).fetchone()[0] == Decimal("60.00")
    original = facts._base_facts

    def gross(o):  # an upgrade that changes what total_spent means: before refunds
        out = original(o)
        out[1] = n.alias(exp.Sum(this=o("total_price")), "total_spent")
        return out

    monkeypatch.setattr(facts, "_base_facts", gross)
    h.run(conn, D + dt.timedelta(days=1), tmp_path)
    mode = conn.execute("SELECT detail->>'mode' FROM segflow.runs WHERE kind = 'run'"
                        " ORDER BY run_id DESC LIMIT 1").fetchone()[0]
    assert mode == "rebuild"
    assert conn.execute(spent).fetchone()[0] == Decimal("100.00")


def test_a_store_made_before_dated_refunds_gets_them_by_its_migration(conn):
    """The migration adds `store.refunds` (and the triggers marking its customers changed) to a
    store whose canonical tables predate it."""
    migration = next(m for m in migrations() if m.name == "asof")
    conn.execute("DROP TABLE store.refunds; DROP FUNCTION segflow.mark_dirty_refunds CASCADE;"
                 " DROP INDEX store.orders_cancelled_idx")
    conn.execute(migration.sql())
    conn.execute("DELETE FROM segflow.dirty_customers")
    conn.execute("INSERT INTO store.refunds VALUES (115, 1, now(), 5)")
    assert conn.execute("SELECT customer_id FROM segflow.dirty_customers").fetchall() == [(9,)]
