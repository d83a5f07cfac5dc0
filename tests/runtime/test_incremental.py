"""The incremental daily run gives exactly what a full recompute gives.

A generated store, rules of every kind (data-only and calendar-dependent, aggregates with and
without `today`), runs over days with store changes in between (new, back-dated, refunded,
cancelled and deleted orders, refunds and cancellations dated after the run day, edited
customers). After each run, the same day is recomputed from scratch inside a transaction that is
rolled back: memberships, metric sums, metrics and activity must be identical, and the recompute
must find nothing to change.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from segflow.sources.synth import generate_store
from tests.runtime import helpers as h
from tests.runtime.helpers import GENERATED_END as END

STATE = {
    "members": "SELECT customer_id, segments FROM segflow.customer_segments ORDER BY 1",
    "totals": "SELECT * FROM segflow.segment_totals ORDER BY 1",
}


def _snapshot(conn: psycopg.Connection, day: dt.date) -> dict:
    out = {k: conn.execute(q).fetchall() for k, q in STATE.items()}
    out["metrics"] = conn.execute(
        "SELECT * FROM segflow.daily_metrics WHERE day = %s ORDER BY segment_id", (day,)).fetchall()
    out["activity"] = conn.execute(
        "SELECT * FROM segflow.daily_activity WHERE day = %s ORDER BY segment_id", (day,)
    ).fetchall()
    return out


def _recomputed(conn: psycopg.Connection, day: dt.date, root) -> tuple[dict, object]:
    """The state after recomputing `day` from scratch, rolled back afterwards."""
    with conn.transaction(force_rollback=True):
        conn.execute("UPDATE segflow.facts_state SET valid = false")
        result = h.run(conn, day, root)
        return _snapshot(conn, day), result


def _mode(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT detail->>'mode' FROM segflow.runs WHERE kind = 'run'"
                        " ORDER BY run_id DESC LIMIT 1").fetchone()[0]


def _recomputed_count(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT detail->>'recomputed' FROM segflow.runs WHERE kind = 'run'"
                            " ORDER BY run_id DESC LIMIT 1").fetchone()[0])


def _change_store(conn: psycopg.Connection, day: dt.date, step: int) -> None:
    """Store edits of every kind a loader (or the user's own SQL) makes, picked deterministically:
    an undated refund and a cancellation as of the order's placing, a dated refund and a
    cancellation dated after the run day (they take effect on a later run), a deleted order, a
    back-dated order written without `customer_order_index`, an edited customer."""
    rows = conn.execute(
        "SELECT order_id, customer_id FROM store.orders WHERE customer_id IS NOT NULL"
        " AND cancelled_at IS NULL AND refunded_amount = 0 AND total_price > 0"
        " ORDER BY order_id OFFSET %s LIMIT 6", (step * 37,)).fetchall()
    (refund, _), (cancel, _), (delete, _), (_, buyer), (late_refund, _), (late_cancel, _) = rows
    conn.execute("UPDATE store.orders SET refunded_amount = total_price WHERE order_id = %s",
                 (refund,))
    conn.execute("UPDATE store.orders SET cancelled_at = placed_at WHERE order_id = %s", (cancel,))
    later = lambda days: dt.datetime.combine(day + dt.timedelta(days=days), dt.time(15),  # noqa: E731
                                             dt.UTC)
    conn.execute("INSERT INTO store.refunds (order_id, refund_id, created_at, amount)"
                 " SELECT order_id, order_id, %s, round(total_price / 2, 2) FROM store.orders"
                 " WHERE order_id = %s", (later(3), late_refund))
    conn.execute("UPDATE store.orders SET refunded_amount = round(total_price / 2, 2)"
                 " WHERE order_id = %s", (late_refund,))
    conn.execute("UPDATE store.orders SET cancelled_at = %s WHERE order_id = %s",
                 (later(2), late_cancel))
    conn.execute("DELETE FROM store.order_lines WHERE order_id = %s", (delete,))
    conn.execute("DELETE FROM store.orders WHERE order_id = %s", (delete,))
    # a back-dated order (placed before the last run) for an existing customer, with a line
    placed = dt.datetime.combine(day - dt.timedelta(days=40), dt.time(12), dt.UTC)
    new_id = conn.execute("SELECT max(order_id) + 1 FROM store.orders").fetchone()[0]
    conn.execute(
        "INSERT INTO store.orders (order_id, customer_id, placed_at, total_price, source)"
        " VALUES (%s, %s, %s, 180, 'web')", (new_id, buyer, placed))
    conn.execute("INSERT INTO store.order_lines (order_id, line_no, product, quantity, price)"
                 " VALUES (%s, 1, 'Espresso Blend', 1, 180)", (new_id,))
    conn.execute("UPDATE store.customers SET province = 'ON', tags = array_append(tags, 'vip')"
                 " WHERE customer_id = (SELECT min(customer_id) + %s FROM store.customers)",
                 (step,))


def test_incremental_runs_equal_full_recompute(conn, generated):
    root = generated
    days = [END - dt.timedelta(days=n) for n in (30, 29, 29, 26, 19, 5, 4, 0)]
    for step, day in enumerate(days):
        if step:
            _change_store(conn, day, step)
        result = h.run(conn, day, root)
        assert _mode(conn) == ("rebuild" if step == 0 else "advance")
        if step == 0:  # a rebuild recomputes every customer in the facts
            assert _recomputed_count(conn) == h.count(conn, "segflow.customer_facts") > 0
        incremental = _snapshot(conn, day)
        full, again = _recomputed(conn, day, root)
        assert (again.entered, again.left, again.snapshots) == (0, 0, 0), day
        assert incremental == full, day
        if step in (3, 5):
            assert result.entered or result.left


def test_same_day_rerun_after_store_change_updates_the_day(conn, generated):
    root = generated
    day = END - dt.timedelta(days=10)
    h.run(conn, day, root)
    before = h.history_counts(conn)
    assert not h.run(conn, day, root).wrote
    assert h.history_counts(conn) == before
    _change_store(conn, day, 1)
    h.run(conn, day, root)
    assert _mode(conn) == "advance"
    full, again = _recomputed(conn, day, root)
    assert (again.entered, again.left, again.snapshots) == (0, 0, 0)
    assert _snapshot(conn, day) == full


def test_truncating_the_store_forces_a_rebuild(conn, generated):
    root = generated
    h.run(conn, END - dt.timedelta(days=3), root)
    with conn.transaction():
        generate_store(conn, 300, 12, END)
    h.run(conn, END, root)
    assert _mode(conn) == "rebuild"
    full, again = _recomputed(conn, END, root)
    assert (again.entered, again.left) == (0, 0)
    assert _snapshot(conn, END) == full
