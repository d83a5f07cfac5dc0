"""`seg ingest shopify-api`: bulk-query exports from the fake into the canonical tables,
checked field by field, then incrementally."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from segflow.sources.shopify_api.importer import import_from_api
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client


def _money(amount: str) -> dict:
    return {"shopMoney": {"amount": amount}}


def _customer(cid: int, updated: str, **kw) -> dict:
    return {"id": f"gid://shopify/Customer/{cid}",
            "defaultEmailAddress": {"emailAddress": f"c{cid}@example.com",
                                    "marketingState": "SUBSCRIBED"},
            "defaultPhoneNumber": None, "firstName": "Ann", "lastName": "Lee",
            "createdAt": "2025-01-02T10:00:00Z", "updatedAt": updated, "tags": ["vip"],
            "note": None, "taxExempt": False,
            "defaultAddress": {"company": None, "city": "Toronto", "province": "Ontario",
                               "provinceCode": "ON", "country": "Canada",
                               "countryCodeV2": "CA", "zip": "M5V"}, **kw}


def _order(oid: int, cid: int, processed: str, updated: str, total: str, **kw) -> dict:
    return {"id": f"gid://shopify/Order/{oid}", "name": f"#{oid}", "email": f"c{cid}@example.com",
            "createdAt": processed, "processedAt": processed, "updatedAt": updated,
            "cancelledAt": None, "test": False, "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "FULFILLED", "currencyCode": "CAD",
            "subtotalPriceSet": _money(total), "totalDiscountsSet": _money("0.00"),
            "totalShippingPriceSet": _money("0.00"), "totalTaxSet": _money("0.00"),
            "totalPriceSet": _money(total), "totalRefundedSet": _money("0.00"),
            "sourceName": "web", "discountCodes": ["WELCOME10"], "tags": [],
            "customer": {"id": f"gid://shopify/Customer/{cid}"},
            "shippingAddress": {"city": "Toronto", "provinceCode": "ON", "countryCodeV2": "CA"},
            "customerJourneySummary": {"firstVisit": {
                "landingPage": "https://shop.example/?utm_source=news",
                "referrerUrl": "https://news.example/",
                "utmParameters": {"source": "news", "medium": "email", "campaign": "spring"}}},
            "lineItems": [
                {"id": f"gid://shopify/LineItem/{oid}1", "title": "Coffee Starter Kit",
                 "quantity": 1, "sku": "KIT-1", "vendor": "Bean & Co",
                 "product": {"id": "gid://shopify/Product/77", "productType": "Kit"},
                 "variant": {"id": "gid://shopify/ProductVariant/78", "title": "Default"},
                 "originalUnitPriceSet": _money(total), "totalDiscountSet": _money("0.00")}],
            **kw}


def test_full_then_incremental_import_fills_the_canonical_tables(conn, fake):
    fake.export_customers = [_customer(501, "2025-02-01T00:00:00Z"),
                             _customer(502, "2025-02-03T00:00:00Z", tags=[])]
    fake.export_orders = [_order(9001, 501, "2025-02-10T15:00:00Z", "2025-02-10T15:00:00Z",
                                 "40.00"),
                          _order(9002, 501, "2025-03-01T15:00:00Z", "2025-03-01T15:00:00Z",
                                 "25.50"),
                          _order(9003, 502, "2025-03-02T15:00:00Z", "2025-03-02T15:00:00Z",
                                 "10.00")]
    with make_client(fake) as client:
        first = import_from_api(conn, client, poll_seconds=0.01)
    assert (first.customers, first.orders, first.line_items) == (2, 3, 3)
    assert not first.incremental
    row = conn.execute(
        "SELECT email, tags, city, province_code, country_code, accepts_email_marketing,"
        " accepts_sms_marketing, updated_at FROM store.customers WHERE customer_id = 501"
    ).fetchone()
    assert row == ("c501@example.com", ["vip"], "Toronto", "ON", "CA", True, False,
                   dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    orders = conn.execute(
        "SELECT order_id, customer_id, financial_status, total_price, source, channel,"
        " landing_site, referring_site, utm_source, utm_medium, utm_campaign, discount_codes,"
        " shipping_province, customer_order_index FROM store.orders"
        " WHERE order_id >= 9001 ORDER BY 1").fetchall()
    assert orders[0] == (9001, 501, "paid", Decimal("40.00"), "web", "online_store",
                         "https://shop.example/?utm_source=news", "https://news.example/",
                         "news", "email", "spring", ["WELCOME10"], "ON", 1)
    assert [(o[0], o[-1]) for o in orders] == [(9001, 1), (9002, 2), (9003, 1)]
    lines = conn.execute("SELECT order_id, line_no, product_id, variant_id, product, variant,"
                         " sku, product_type, quantity, price FROM store.order_lines"
                         " WHERE order_id = 9001").fetchall()
    assert lines == [(9001, 1, 77, 78, "Coffee Starter Kit", "Default", "KIT-1", "Kit", 1,
                      Decimal("40.00"))]

    # later: order 9001 refunded and cancelled, a new order; only changes are asked for
    fake.export_orders[0].update(updatedAt="2025-03-05T00:00:00Z",
                                 cancelledAt="2025-03-05T00:00:00Z",
                                 totalRefundedSet=_money("40.00"))
    fake.export_orders.append(_order(9004, 502, "2025-03-06T15:00:00Z", "2025-03-06T15:00:00Z",
                                     "12.00"))
    with make_client(fake) as client:
        second = import_from_api(conn, client, poll_seconds=0.01)
    assert second.incremental and "updated_at:>='2025-03-02T15:00:00Z'" in fake.bulk.last_query
    # ">=" re-reads the newest of last time (502; 9003), harmless: unchanged rows are not written
    assert (second.customers, second.orders) == (1, 3)
    assert second.changed_orders == 2
    got = dict(conn.execute("SELECT order_id, customer_order_index FROM store.orders"
                            " WHERE order_id >= 9001").fetchall())
    assert got == {9001: None, 9002: 1, 9003: 1, 9004: 2}  # the cancelled order no longer counts
    assert conn.execute("SELECT refunded_amount, net_amount FROM store.orders"
                        " WHERE order_id = 9001").fetchone() == (Decimal("40.00"), Decimal("0.00"))
    with make_client(fake) as client:
        again = import_from_api(conn, client, poll_seconds=0.01)
    assert again.changed_orders == 0 and again.changed_customers == 0


def test_imported_store_is_what_segments_evaluate(conn, fake, tmp_path):
    fake.export_customers = [_customer(601, "2025-02-01T00:00:00Z")]
    fake.export_orders = [_order(9101, 601, "2025-03-01T15:00:00Z", "2025-03-01T15:00:00Z", "9"),
                          _order(9102, 601, "2025-03-02T15:00:00Z", "2025-03-02T15:00:00Z", "9")]
    with make_client(fake) as client:
        import_from_api(conn, client, poll_seconds=0.01)
    h.plan_apply(conn, h.project('segment news { where first_order.utm_source = "news" and '
                                 'order_count >= 2 }', tmp_path), tmp_path)
    assert h.members(conn, "news") == [601]


def test_cli_ingest_shopify_api(store_db, fake, tmp_path):
    from click.testing import CliRunner

    from segflow.cli.main import cli
    from tests.shopify.conftest import TOKEN
    from tests.shopify.test_cli import _project

    fake.export_customers = [_customer(701, "2025-02-01T00:00:00Z")]
    root = _project(tmp_path, fake)
    env = {"SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN}
    out = CliRunner().invoke(cli, ["-C", str(root), "ingest", "shopify-api"], env=env)
    assert out.exit_code == 0, out.output
    assert "Shopify API (full load): read 1 customers, 0 orders" in out.output
    assert TOKEN not in out.output
