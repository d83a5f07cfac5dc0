"""The API import: refused without read_all_orders (14.4), streamed in bounded memory and
batches, all or nothing when the download breaks (14.11)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tracemalloc

import pytest

from segflow.connectors.shopify.client import ShopifyError
from segflow.errors import SegflowError
from segflow.sources.shopify_api.importer import _ORDERS, export, import_from_api
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client
from tests.shopify.test_ingest_api import _customer, _order

NO_ALL_ORDERS = ("read_customers", "write_customers", "read_orders")


def test_without_read_all_orders_the_fake_shows_60_days_and_the_import_is_refused(conn, fake):
    fake.options.scopes, fake.options.today = NO_ALL_ORDERS, dt.date(2025, 3, 31)
    fake.export_customers = [_customer(501, "2025-02-01T00:00:00Z")]
    fake.export_orders = [_order(9001, 501, "2024-12-01T15:00:00Z", "2024-12-01T15:00:00Z", "9"),
                          _order(9002, 501, "2025-03-01T15:00:00Z", "2025-03-01T15:00:00Z", "9")]
    with make_client(fake) as client:
        seen = [o for o in export(client, _ORDERS % {"filter": ""}, poll_seconds=0.01)
                if "__parentId" not in o]
        assert [o["id"] for o in seen] == ["gid://shopify/Order/9002"]  # like Shopify
        before = h.count(conn, "store.orders")
        with pytest.raises(SegflowError, match="read_all_orders") as caught:
            import_from_api(conn, client, poll_seconds=0.01)
    assert "60 days" in caught.value.message and "nothing was imported" in caught.value.message
    assert h.count(conn, "store.orders") == before
    assert fake.bulk.operations[-1].kind == "QUERY" and len(fake.bulk.operations) == 1


def _big_shop(n: int) -> tuple[list[dict], list[dict]]:
    customers = [_customer(10_000 + i, "2025-02-01T00:00:00Z") for i in range(n // 4)]
    orders = []
    for i in range(n):
        order = _order(500_000 + i, 10_000 + i % (n // 4), "2025-03-01T15:00:00Z",
                       "2025-03-01T15:00:00Z", "20.00")
        second = dict(order["lineItems"][0], id=f"gid://shopify/LineItem/{i}2", sku="SECOND")
        order["lineItems"] = [order["lineItems"][0], second]
        orders.append(order)
    return customers, orders


def test_a_result_far_bigger_than_a_batch_streams_in_bounded_memory(conn, fake):
    fake.export_customers, fake.export_orders = _big_shop(6000)  # 18,000 JSONL order lines
    with make_client(fake) as client:
        tracemalloc.start()
        try:
            summary = import_from_api(conn, client, poll_seconds=0.01, batch_rows=200)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (summary.customers, summary.orders, summary.line_items) == (1500, 6000, 12000)
    assert h.count(conn, "store.order_lines") >= 12000
    # the JSONL is ~11.5 MB (its objects would take several times that in Python); the import
    # holds one batch at a time, plus the fake's 64 KB chunks: 1.8 MB measured
    assert peak < 4_000_000, peak
    # children arrived before their parent for every other order: numbered all the same
    lines = conn.execute("SELECT order_id, line_no, sku FROM store.order_lines"
                         " WHERE order_id IN (500000, 500001) ORDER BY 1, 2").fetchall()
    assert lines == [(500000, 1, "KIT-1"), (500000, 2, "SECOND"),
                     (500001, 1, "KIT-1"), (500001, 2, "SECOND")]


def test_a_download_broken_mid_file_leaves_the_store_as_it_was_and_a_rerun_completes(
        conn, fake):
    fake.export_customers, fake.export_orders = _big_shop(800)
    before = {t: h.count(conn, t) for t in ("store.customers", "store.orders",
                                            "store.order_lines", "segflow.shopify_imports")}
    with make_client(fake) as client:
        real = client.stream_lines

        def broken(url):
            for n, line in enumerate(real(url)):
                if n == 1500:
                    raise ShopifyError("the bulk result download broke off (ReadError)")
                yield line

        object.__setattr__(client, "stream_lines", broken)
        with pytest.raises(ShopifyError, match="broke off"):
            import_from_api(conn, client, poll_seconds=0.01, batch_rows=100)
    assert {t: h.count(conn, t) for t in before} == before  # nothing half-written
    with make_client(fake) as client:
        done = import_from_api(conn, client, poll_seconds=0.01, batch_rows=100)
    assert done.orders == 800 and not done.incremental
    assert h.count(conn, "store.orders") == before["store.orders"] + 800


def test_the_fake_serves_children_after_their_parent_when_grouped(fake):
    fake.export_orders = _big_shop(4)[1]
    op = fake.bulk.run_query({"query": "{ orders { edges { node { id } } } }",
                              "groupObjects": True}, [], fake.export_orders)
    del op
    number = len(fake.bulk.operations)
    lines = list(fake.bulk.result_lines(number))
    assert ["__parentId" in x for x in lines[:3]] == [False, True, True]
    assert dataclasses.is_dataclass(fake.bulk.operations[-1])
