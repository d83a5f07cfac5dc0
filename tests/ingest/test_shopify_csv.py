"""Importing Shopify's CSV exports, against a real PostgreSQL (tests/pg.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.sources.shopify_csv import channel_for, import_shopify_csv
from segflow.sources.shopify_csv.parsing import derived_id

FIX = Path(__file__).parent / "fixtures"
ORDERS = FIX / "orders_export.csv"
CUSTOMERS = FIX / "customers_export.csv"
CUSTOMERS_OLD = FIX / "customers_export_old.csv"
ORDERS_OLD = FIX / "orders_export_old.csv"
UTC = dt.UTC


def rows(conn, query: str) -> list[tuple]:
    return conn.execute(query).fetchall()


def counts(conn) -> tuple[int, int, int]:
    return conn.execute(
        "SELECT (SELECT count(*) FROM store.customers), (SELECT count(*) FROM store.orders),"
        " (SELECT count(*) FROM store.order_lines)").fetchone()


def snapshot(conn) -> list:
    return [rows(conn, "SELECT * FROM store.customers ORDER BY customer_id"),
            rows(conn, "SELECT * FROM store.orders ORDER BY order_id"),
            rows(conn, "SELECT * FROM store.order_lines ORDER BY order_id, line_no")]


def edit(tmp_path: Path, source: Path, old: str, new: str, count: int = 1) -> Path:
    text = source.read_text(encoding="utf-8-sig")
    assert text.count(old) >= 1, old
    out = tmp_path / source.name
    out.write_text(text.replace(old, new, count), encoding="utf-8-sig")
    return out


def test_channel_mapping():
    assert [channel_for(s) for s in ("web", "pos", "shopify_draft_order", "instagram",
                                     "Facebook & Instagram", "tiktok", "amazon", "ebay",
                                     "walmart", "1354745", "", None, "iphone")] == [
        "online_store", "pos", "draft_order", "social", "social", "social", "marketplace",
        "marketplace", "marketplace", "other", "other", "other", "other"]


def test_loads_customers_and_orders(pg_conn):
    s = import_shopify_csv(pg_conn, CUSTOMERS, ORDERS)
    pg_conn.commit()
    assert (s.customers, s.customers_from_orders, s.orders, s.line_items,
            s.orders_without_customer, s.skipped_rows) == (2, 1, 6, 9, 1, 0)
    new_id = derived_id("email", "new@example.com")
    assert new_id < 0
    assert rows(pg_conn, "SELECT customer_id, email, first_name, last_name, phone, tags, company,"
                         " city, province, province_code, country, country_code, zip,"
                         " accepts_email_marketing, accepts_sms_marketing, tax_exempt, note,"
                         " created_at FROM store.customers ORDER BY customer_id") == [
        (new_id, "new@example.com", None, None, None, [], None, None, None, None, None, None,
         None, False, False, False, None, None),
        (7001, "ada@example.com", "Ada", "Lovelace", "+16135550101", ["vip", "coffee lover"],
         "Analytical Engines", "Toronto", None, "ON", None, "CA", "M5V 1A1", True, False, False,
         "likes dark roast", None),
        (7002, "bob@example.com", "Bob", "Builder", "+15145550102", [], None, "Montréal", None,
         "QC", None, "CA", "H2X 1Y4", False, True, True, None, None),
    ]
    assert rows(pg_conn, "SELECT order_id, name, customer_id, email, placed_at, cancelled_at,"
                         " is_test, financial_status, fulfillment_status, currency,"
                         " subtotal_price, total_discounts, total_shipping, total_tax,"
                         " total_price, refunded_amount, net_amount, source, channel,"
                         " discount_codes, tags, shipping_city, shipping_province,"
                         " shipping_country, customer_order_index"
                         " FROM store.orders ORDER BY order_id") == [
        (5550000001, "#1001", 7001, "Ada@Example.com", dt.datetime(2025, 1, 10, 7, 50, 26,
                                                                   tzinfo=UTC), None, False,
         "paid", "fulfilled", "CAD", Decimal("70.00"), Decimal("5.00"), Decimal("5.00"),
         Decimal("9.75"), Decimal("84.75"), Decimal("0.00"), Decimal("84.75"), "web",
         "online_store", ["WELCOME10", "SPRING"], ["first", "gift"], "Toronto", "ON", "CA", 1),
        (5550000002, "#1002", 7002, "bob@example.com", dt.datetime(2025, 2, 1, 17, tzinfo=UTC),
         None, False, "partially_refunded", "fulfilled", "CAD", Decimal("30.00"),
         Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("30.00"), Decimal("10.00"),
         Decimal("20.00"), "pos", "pos", [], [], "Montréal", "QC", "CA", 1),
        (5550000003, "#1003", 7001, "ada@example.com", dt.datetime(2025, 2, 3, 13, tzinfo=UTC),
         dt.datetime(2025, 2, 5, 15, tzinfo=UTC), False, "voided", None, "CAD",
         Decimal("20.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("20.00"),
         Decimal("0.00"), Decimal("20.00"), "shopify_draft_order", "draft_order", [], [], None,
         None, None, None),
        (5550000004, "#1004", new_id, "new@example.com",
         dt.datetime(2025, 2, 10, 20, 30, tzinfo=UTC), None, False, "paid", "unfulfilled", "CAD",
         Decimal("25.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("25.00"),
         Decimal("0.00"), Decimal("25.00"), "instagram", "social", [], [], None, None, None, 1),
        (5550000005, "#1005", None, None, dt.datetime(2025, 2, 11, 16, tzinfo=UTC), None, False,
         "paid", None, "CAD", Decimal("45.00"), Decimal("0.00"), Decimal("0.00"),
         Decimal("0.00"), Decimal("45.00"), Decimal("0.00"), Decimal("45.00"), "1354745",
         "other", [], [], None, None, None, None),
        (5550000006, "#1006", 7001, "ADA@example.com", dt.datetime(2025, 3, 1, 15, tzinfo=UTC),
         None, False, "paid", None, "CAD", Decimal("40.00"), Decimal("0.00"), Decimal("0.00"),
         Decimal("0.00"), Decimal("40.00"), Decimal("0.00"), Decimal("40.00"), "amazon",
         "marketplace", [], ["repeat"], None, None, None, 2),
    ]
    assert rows(pg_conn, "SELECT order_id, line_no, product, sku, vendor, quantity, price,"
                         " discount FROM store.order_lines ORDER BY order_id, line_no") == [
        (5550000001, 1, "Coffee Starter Kit", "KIT-1", "Bean & Co", 1, Decimal("50.00"),
         Decimal("0.00")),
        (5550000001, 2, "Ceramic Mug", "MUG-1", "Potters", 2, Decimal("12.50"), Decimal("5.00")),
        (5550000002, 1, "Coffee Beans Refill", "BEAN-1", "Bean & Co", 1, Decimal("30.00"),
         Decimal("0.00")),
        (5550000003, 1, "Espresso Blend", "ESP-1", "Bean & Co", 1, Decimal("20.00"),
         Decimal("0.00")),
        (5550000004, 1, "Cold Brew Pack", "CB-1", "Bean & Co", 1, Decimal("25.00"),
         Decimal("0.00")),
        (5550000005, 1, "Grinder", "GRD-1", "Grindco", 1, Decimal("30.00"), Decimal("0.00")),
        (5550000005, 2, "Ceramic Mug", "MUG-1", "Potters", 1, Decimal("10.00"), Decimal("0.00")),
        (5550000005, 3, "Gift Card", None, "Gift", 1, Decimal("5.00"), Decimal("0.00")),
        (5550000006, 1, "Espresso Blend", "ESP-1", "Bean & Co", 2, Decimal("20.00"),
         Decimal("0.00")),
    ]


def test_old_exports(pg_conn):
    s = import_shopify_csv(pg_conn, CUSTOMERS_OLD, ORDERS_OLD)
    pg_conn.commit()
    cy = derived_id("email", "cy@example.com")
    assert (s.customers, s.customers_from_orders, s.orders, s.line_items) == (1, 0, 1, 1)
    assert rows(pg_conn, "SELECT customer_id, email, phone, tags, city, province, province_code,"
                         " country, country_code, zip, accepts_email_marketing,"
                         " accepts_sms_marketing, tax_exempt FROM store.customers") == [
        (cy, "cy@example.com", "+16135550103", ["wholesale"], "Ottawa", "Ontario", "ON",
         "Canada", "CA", "K1A 0B1", True, False, False)]
    assert rows(pg_conn, "SELECT order_id, name, customer_id, placed_at, source, channel,"
                         " customer_order_index FROM store.orders") == [
        (derived_id("order", "#900"), "#900", cy, dt.datetime(2012, 1, 1, 16, 13, 13, tzinfo=UTC),
         None, "other", 1)]


def test_orders_alone_then_customers_keeps_links(pg_conn):
    import_shopify_csv(pg_conn, None, ORDERS)
    assert counts(pg_conn) == (3, 6, 9)  # customers made from ada, bob, new emails
    import_shopify_csv(pg_conn, CUSTOMERS, ORDERS)
    pg_conn.commit()
    owners = dict(rows(pg_conn, "SELECT name, customer_id FROM store.orders"))
    assert owners["#1001"] == 7001 and owners["#1006"] == 7001 and owners["#1002"] == 7002
    assert rows(pg_conn, "SELECT name, customer_order_index FROM store.orders"
                         " WHERE customer_id = 7001 ORDER BY name") == [
        ("#1001", 1), ("#1003", None), ("#1006", 2)]


def test_reimport_is_idempotent(pg_conn):
    import_shopify_csv(pg_conn, CUSTOMERS, ORDERS)
    pg_conn.commit()
    before = snapshot(pg_conn)
    again = import_shopify_csv(pg_conn, CUSTOMERS, ORDERS)
    pg_conn.commit()
    assert snapshot(pg_conn) == before
    assert (again.changed_customers, again.changed_orders, again.changed_line_items) == (0, 0, 0)


def test_reimport_replaces_lines_and_keeps_created_at(pg_conn, tmp_path):
    import_shopify_csv(pg_conn, CUSTOMERS, ORDERS)
    pg_conn.execute("UPDATE store.customers SET created_at = '2024-01-01' WHERE customer_id = 7001")
    pg_conn.commit()
    # order #1005 loses its last line; #1001's mug now costs 13.00
    text = ORDERS.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    text = [t for t in text if "Gift Card" not in t]
    changed = tmp_path / "orders_export.csv"
    changed.write_text("".join(text).replace(",12.50,", ",13.00,"), encoding="utf-8")
    s = import_shopify_csv(pg_conn, CUSTOMERS, changed)
    pg_conn.commit()
    assert s.changed_line_items == 2
    assert rows(pg_conn, "SELECT order_id, line_no, price FROM store.order_lines"
                         " WHERE order_id IN (5550000001, 5550000005) ORDER BY 1, 2") == [
        (5550000001, 1, Decimal("50.00")), (5550000001, 2, Decimal("13.00")),
        (5550000005, 1, Decimal("30.00")), (5550000005, 2, Decimal("10.00"))]
    assert rows(pg_conn, "SELECT created_at FROM store.customers WHERE customer_id = 7001") == [
        (dt.datetime(2024, 1, 1, tzinfo=UTC),)]


def assert_nothing_loaded(conn):
    conn.rollback()
    assert counts(conn) == (0, 0, 0)


@pytest.mark.parametrize("old, new, message", [
    ("Lineitem price", "Lineitem cost",
     "orders_export.csv:1:1: missing required column 'Lineitem price': is this Shopify's orders "
     "export?"),
])
def test_missing_column(pg_conn, tmp_path, old, new, message):
    bad = edit(tmp_path, ORDERS, old, new)
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, CUSTOMERS, bad, skip_bad_rows=True)
    assert err.value.render() == f"{tmp_path}/{message}"
    assert_nothing_loaded(pg_conn)


def test_bad_number_and_date_list_every_row(pg_conn, tmp_path):
    bad = edit(tmp_path, ORDERS, ",30.00,,BEAN-1,", ",3O.00,,BEAN-1,")  # line 4
    bad = edit(tmp_path, bad, "2025-02-10 15:30:00 -0500", "2025-02-30 15:30:00 -0500")  # line 6
    bad = edit(tmp_path, bad, ",84.75,", ",84.75.1,")  # line 2
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, CUSTOMERS, bad)
    assert [(d.file, d.line, d.message) for d in err.value.diagnostics] == [
        (str(bad), 2, "column 'Total': not a number: '84.75.1'"),
        (str(bad), 4, "column 'Lineitem price': not a number: '3O.00'"),
        (str(bad), 6, "column 'Created at': not a date and time: '2025-02-30 15:30:00 -0500'"),
    ]
    assert_nothing_loaded(pg_conn)


def test_bad_customer_row(pg_conn, tmp_path):
    bad = edit(tmp_path, CUSTOMERS, ",,yes,30.00,1,", ",,maybe,30.00,1,")
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, bad, ORDERS)
    assert err.value.render() == (f"{bad}:3:1: column 'Accepts SMS Marketing': not true/false "
                                  "or yes/no: 'maybe'")
    assert_nothing_loaded(pg_conn)


def orphan_file(tmp_path: Path) -> Path:
    """#1002's first row removed and a line of #1001 moved before its first row."""
    lines = ORDERS.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    body = [b for b in body if not b.startswith("#1002,")]
    body.insert(0, body.pop(1))  # #1001's second line item first
    body.insert(3, "#1002,bob@example.com" + "," * 14 + ",1,Extra Beans,9.00" + "," * 60 + "\n")
    out = tmp_path / "orders_export.csv"
    out.write_text(header + "".join(body), encoding="utf-8")
    return out


def test_orphan_line_items(pg_conn, tmp_path):
    bad = orphan_file(tmp_path)
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, None, bad)
    assert [(d.line, d.message) for d in err.value.diagnostics] == [
        (2, "line item of order #1001 whose first row (with 'Created at', 'Total', ...) is "
            "missing"),
        (3, "line item of order #1001 whose first row (with 'Created at', 'Total', ...) is "
            "missing"),
        (5, "line item of order #1002 whose first row (with 'Created at', 'Total', ...) is "
            "missing"),
    ]
    assert_nothing_loaded(pg_conn)


def test_skip_bad_rows(pg_conn, tmp_path):
    bad = edit(tmp_path, ORDERS, ",10.00,,MUG-1,", ",ten,,MUG-1,")  # #1005's 2nd line item
    s = import_shopify_csv(pg_conn, CUSTOMERS, bad, skip_bad_rows=True)
    pg_conn.commit()
    assert (s.skipped_rows, s.skipped_orders, s.orders, s.line_items) == (1, 1, 5, 6)
    assert [(d.line, d.message) for d in s.skipped] == [
        (8, "column 'Lineitem price': not a number: 'ten'")]
    assert rows(pg_conn, "SELECT count(*) FROM store.orders WHERE name = '#1005'") == [(0,)]
    assert rows(pg_conn, "SELECT count(*) FROM store.order_lines WHERE order_id = 5550000005"
                ) == [(0,)]
    assert counts(pg_conn) == (3, 5, 6)


def test_cli_imports(pg_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_DATABASE_URL", pg_db)
    project = tmp_path / "shop"
    project.mkdir()
    shutil.copy(ORDERS, project / "orders.csv")
    runner = CliRunner()
    args = ["-C", str(project), "ingest", "shopify-csv", "--customers", str(CUSTOMERS),
            "--orders", str(project / "orders.csv")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[0].startswith(
        "imported 2 customers (+1 from order emails), 6 orders, 9 line items; "
        "1 orders without customer; 0 bad rows skipped")
    result = runner.invoke(cli, args)
    assert result.exit_code == 0
    assert "changed: 0 customers, 0 orders, 0 line items" in result.output

    bad = edit(tmp_path, ORDERS, ",84.75,", ",x,")
    result = runner.invoke(cli, ["-C", str(project), "ingest", "shopify-csv", "--orders",
                                 str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:1: column 'Total': not a number: 'x'" in result.output

    result = runner.invoke(cli, ["-C", str(project), "ingest", "shopify-csv"])
    assert result.exit_code == 2
