"""The synthetic store generator: deterministic, plausible, consistent, and export-faithful."""

from __future__ import annotations

import csv
import datetime as dt
import os
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_project
from segflow.compiler.query import render, segment_query
from segflow.compiler.tables import refresh_order_index
from segflow.engines.postgres.db import migrate
from segflow.sources.synth import catalog, generate_store, write_csv
from segflow.sources.synth.model import O_INDEX, iter_store
from segflow.sources.synth.writer import CUSTOMERS_EXPORT_COLUMNS, ORDERS_EXPORT_COLUMNS

END = dt.date(2026, 11, 27)
ROOT = Path(__file__).resolve().parents[2]
N = 2000


def _fresh_db(pg_cluster, make_template) -> str:
    template = make_template("synth_migrated", migrate)
    name = f"synth_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    pg_cluster.create_database(name, template=template)
    return name


@pytest.fixture(scope="module")
def store(pg_cluster, make_template):
    """A 2,000-customer store loaded into a fresh migrated database: (connection, summary)."""
    name = _fresh_db(pg_cluster, make_template)
    conn = psycopg.connect(pg_cluster.url(name))
    try:
        seen: list[int] = []
        summary = generate_store(conn, N, 42, END, progress=lambda done, total: seen.append(done))
        assert seen[-1] == N
        yield conn, summary
    finally:
        conn.close()
        pg_cluster.drop_database(name)


def _one(conn, sql: str, *args):
    return conn.execute(sql, args or None).fetchone()


def test_same_seed_same_store_other_seed_other_store():
    a = list(iter_store(300, 7, END))
    assert a == list(iter_store(300, 7, END))
    assert a != list(iter_store(300, 8, END))
    assert a != list(iter_store(300, 7, END - dt.timedelta(days=1)))


def test_loading_is_deterministic_and_replaces(store):
    conn, summary = store
    counts = _one(conn, "SELECT (SELECT count(*) FROM store.customers),"
                  " (SELECT count(*) FROM store.orders), (SELECT count(*) FROM store.order_lines)")
    assert counts == (N, summary.orders, summary.lines)
    digest = ("SELECT md5(string_agg(o::text, '|' ORDER BY order_id)) FROM store.orders o")
    before = _one(conn, digest)
    again = generate_store(conn, N, 42, END)  # replaces, does not append
    assert (again.orders, again.lines) == (summary.orders, summary.lines)
    assert _one(conn, digest) == before
    assert _one(conn, "SELECT count(*) FROM store.customers") == (N,)
    indexes = {r[0] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'store'")}
    assert {"customers_email_idx", "orders_customer_idx", "orders_placed_idx"} <= indexes


def test_behaviour_is_plausible(store):
    conn, summary = store
    per_customer = Counter(dict(conn.execute(
        "SELECT customer_id, count(*) FROM store.orders"
        " WHERE cancelled_at IS NULL AND NOT is_test GROUP BY customer_id").fetchall()))
    buyers = len(per_customer)
    assert 0.05 <= 1 - buyers / N <= 0.15  # some customers never order
    one_timers = sum(1 for n in per_customer.values() if n == 1)
    assert 0.45 <= one_timers / buyers <= 0.65
    assert sum(1 for n in per_customer.values() if n >= 5) >= 0.05 * buyers
    assert max(per_customer.values()) >= 15
    total = summary.orders
    cancelled, _tests, refunded, zero = _one(
        conn, "SELECT count(*) FILTER (WHERE cancelled_at IS NOT NULL),"
        " count(*) FILTER (WHERE is_test), count(*) FILTER (WHERE refunded_amount > 0),"
        " count(*) FILTER (WHERE total_price = 0) FROM store.orders")
    assert 0.01 <= cancelled / total <= 0.04
    assert 0.015 <= refunded / total <= 0.05
    assert zero > 0
    assert 2.0 <= total / N <= 4.0 and 1.3 <= summary.lines / total <= 2.0
    channels = dict(conn.execute("SELECT channel, count(*) FROM store.orders GROUP BY 1").fetchall())
    assert set(channels) == {"online_store", "pos", "draft_order", "social", "marketplace"}
    assert channels["online_store"] > total / 2
    utm = {r[0] for r in conn.execute("SELECT DISTINCT utm_source FROM store.orders")}
    assert {"facebook", "instagram", "tiktok", "google", "newsletter", None} == utm
    codes = {r[0] for r in conn.execute("SELECT DISTINCT unnest(discount_codes) FROM store.orders")}
    assert {"WELCOME10", "BFCM25"} <= codes
    countries = Counter(dict(conn.execute(
        "SELECT country_code, count(*) FROM store.customers GROUP BY 1").fetchall()))
    assert (countries["CA"] + countries["US"]) / N > 0.9
    # Black Friday week and December are busier than an average week.
    per_week = dict(conn.execute(
        "SELECT date_trunc('week', placed_at AT TIME ZONE 'UTC')::date, count(*)"
        " FROM store.orders GROUP BY 1").fetchall())
    bf = dt.date(2025, 11, 28)
    assert per_week[bf - dt.timedelta(days=bf.weekday())] > 2 * sum(per_week.values()) / len(per_week)
    # Starter Kit buyers come back for refills.
    starters, refilled = _one(conn, """
        WITH first AS (SELECT o.customer_id FROM store.orders o JOIN store.order_lines l USING (order_id)
                       WHERE o.customer_order_index = 1 AND l.product = 'Coffee Starter Kit'),
             repeat AS (SELECT DISTINCT o.customer_id FROM store.orders o
                        JOIN store.order_lines l USING (order_id)
                        WHERE o.customer_order_index > 1 AND l.product = 'Coffee Beans Refill')
        SELECT (SELECT count(*) FROM first),
               (SELECT count(*) FROM first JOIN repeat USING (customer_id))""")
    assert starters > 200 and refilled > 0.2 * starters


def test_every_example_segment_is_non_empty(store):
    conn, _ = store
    project = load_project([ROOT / "segments"], ROOT)
    ev = Evaluation(END, "UTC")
    sizes = {}
    for segment_id in project.segments:
        sql = render(segment_query(project, segment_id, ev))
        sizes[segment_id] = _one(conn, f"SELECT count(*) FROM ({sql}) AS s")[0]
    assert sizes and all(n > 0 for n in sizes.values()), sizes
    assert sizes["one_timers"] > sizes["loyals"] > 0


def test_customer_order_index_is_consistent(store):
    conn, _ = store
    cur = conn.execute(refresh_order_index().sql(dialect="postgres"))
    assert cur.rowcount == 0
    bad = _one(conn, """
        SELECT count(*) FROM store.orders o
        WHERE (o.customer_order_index IS NULL) <> (o.cancelled_at IS NOT NULL OR o.is_test)""")
    assert bad == (0,)
    conn.rollback()


def test_totals_match_lines(store):
    conn, _ = store
    bad = _one(conn, """
        SELECT count(*) FROM store.orders o JOIN (
            SELECT order_id, sum(quantity * price) AS gross, sum(discount) AS disc
            FROM store.order_lines GROUP BY order_id) l USING (order_id)
        WHERE o.total_price <> l.gross - o.total_discounts + o.total_shipping + o.total_tax
           OR o.total_discounts <> l.disc
           OR o.subtotal_price <> l.gross - l.disc
           OR o.refunded_amount > o.total_price OR o.total_price < 0""")
    assert bad == (0,)
    assert _one(conn, "SELECT count(*) FROM store.orders WHERE order_id NOT IN"
                " (SELECT order_id FROM store.order_lines)") == (0,)
    assert _one(conn, "SELECT count(*) FROM store.orders WHERE placed_at >= %s",
                dt.datetime(2026, 11, 28, tzinfo=dt.UTC)) == (0,)
    titles = {r[0] for r in conn.execute("SELECT DISTINCT product FROM store.order_lines")}
    assert {"Coffee Starter Kit", "Coffee Beans Refill"} <= titles
    assert titles <= {p.title for p in catalog.PRODUCTS}


def test_cli_writes_shopify_exports(tmp_path):
    from segflow.cli.main import cli

    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "generate", "--customers", "60",
                                      "--end-date", "2026-11-27", "--csv", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "60 customers" in result.output
    with open(tmp_path / "out" / "orders_export.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == ORDERS_EXPORT_COLUMNS and len(rows[0]) == 79
    assert all(len(r) == 79 for r in rows)
    names = [r[0] for r in rows[1:]]
    # An order's rows are contiguous; only the first carries the order's fields.
    first_rows = [r for i, r in enumerate(rows[1:]) if i == 0 or names[i - 1] != r[0]]
    assert len(first_rows) == len(set(names))
    assert all(r[2] for r in first_rows) and all(r[1] for r in rows[1:])
    with open(tmp_path / "out" / "customers_export.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert tuple(header) == CUSTOMERS_EXPORT_COLUMNS


CUSTOMER_COMPARE = ("customer_id", "email", "first_name", "last_name", "phone", "company", "city",
                    "province_code", "country_code", "zip", "accepts_email_marketing",
                    "accepts_sms_marketing", "tax_exempt", "note",
                    "(SELECT array_agg(t ORDER BY t) FROM unnest(tags) t)")
ORDER_COMPARE = ("order_id", "name", "customer_id", "email", "placed_at", "created_at",
                 "cancelled_at", "is_test", "financial_status", "fulfillment_status", "currency",
                 "subtotal_price", "total_discounts", "total_shipping", "total_tax", "total_price",
                 "refunded_amount", "source", "channel", "discount_codes",
                 "(SELECT array_agg(t ORDER BY t) FROM unnest(tags) t)", "shipping_city",
                 "shipping_province", "shipping_country", "customer_order_index")
LINE_COMPARE = ("order_id", "line_no", "product", "sku", "vendor", "quantity", "price", "discount")


def _rows(conn, table: str, columns: tuple[str, ...], key: str) -> dict:
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
    return {tuple(r[:2]) if table.endswith("lines") else r[0]: r for r in rows}


def test_csv_round_trip_matches_direct_load(pg_cluster, make_template, tmp_path):
    ingest = pytest.importorskip("segflow.sources.shopify_csv.importer")
    n, seed = 300, 5
    write_csv(tmp_path, n, seed, END)
    direct, imported = (_fresh_db(pg_cluster, make_template) for _ in range(2))
    try:
        with psycopg.connect(pg_cluster.url(direct)) as a, \
                psycopg.connect(pg_cluster.url(imported)) as b:
            generate_store(a, n, seed, END)
            ingest.import_shopify_csv(b, tmp_path / "customers_export.csv",
                                      tmp_path / "orders_export.csv")
            problems = []
            for table, columns, key in (("store.customers", CUSTOMER_COMPARE, "customer_id"),
                                        ("store.orders", ORDER_COMPARE, "order_id"),
                                        ("store.order_lines", LINE_COMPARE, "order_id, line_no")):
                want, got = _rows(a, table, columns, key), _rows(b, table, columns, key)
                assert want.keys() == got.keys(), table
                for k, row in want.items():
                    for col, x, y in zip(columns, row, got[k], strict=True):
                        if x != y:
                            problems.append(f"{table}.{col} [{k}]: generated {x!r}, imported {y!r}")
            assert not problems, f"{len(problems)} differences, e.g.\n" + "\n".join(problems[:20])
    finally:
        pg_cluster.drop_database(direct)
        pg_cluster.drop_database(imported)


def test_orders_carry_index_in_generation_order():
    for _, orders in iter_store(200, 3, END):
        idx = [o[O_INDEX] for o in orders if o[O_INDEX] is not None]
        assert idx == list(range(1, len(idx) + 1))
