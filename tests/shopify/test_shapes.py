"""Request and response shapes: the document the client sends, the fake's answers, the
history JSON, under snapshots; the client against hand-made answers of each kind."""

from __future__ import annotations

import json

import httpx
import pytest

from segflow.connectors.shopify.client import AdminClient, ShopifyError, TagCall, build_document
from segflow.connectors.shopify.fake import FakeOptions, FakeShopify
from segflow.connectors.shopify.throttle import Backoff, CostBucket, retry_after_seconds


def test_mutation_document_with_aliases(snapshot):
    document, variables = build_document([TagCall(7, "add", ("a", "b")),
                                          TagCall(8, "remove", ("c",))])
    assert document == snapshot
    assert variables == snapshot


def test_fake_answers_have_shopify_shapes(snapshot):
    fake = FakeShopify(FakeOptions(bucket_size=30, restore_rate=0.0001), customers={7: ["x"]})
    document, variables = build_document([TagCall(7, "add", ("a",)), TagCall(9, "add", ("b",))])
    ok = fake.graphql({"query": document, "variables": variables})
    throttled = fake.graphql({"query": document, "variables": variables})
    too_big, big_variables = build_document([TagCall(i, "add", ("a",)) for i in range(1, 5)])
    refused = fake.graphql({"query": too_big, "variables": big_variables})
    assert {"ok": ok, "throttled": throttled, "too_big": refused} == snapshot
    assert fake.customers[7] == ["x", "a"]


def _client(handler) -> AdminClient:
    return AdminClient("https://shop.example/admin/api/2025-01/graphql.json", "tok",
                       backoff=Backoff(base=0.0), sleep=lambda s: None, max_attempts=3,
                       transport=httpx.MockTransport(handler))


def test_client_reads_user_errors_and_field_errors_per_call():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Shopify-Access-Token"] == "tok"
        return httpx.Response(200, json={
            "data": {"m0": {"userErrors": []}, "m1": {"userErrors": [
                {"field": ["tags"], "message": "too many"}]}, "m2": None},
            "errors": [{"message": "Customer not found", "path": ["m2"]}],
            "extensions": {"cost": {"requestedQueryCost": 30, "actualQueryCost": 30,
                                    "throttleStatus": {"maximumAvailable": 1000.0,
                                                       "currentlyAvailable": 970,
                                                       "restoreRate": 100.0}}}})

    with _client(handler) as client:
        results = client.tag_calls([TagCall(1, "add", ("a",)), TagCall(2, "add", ("a",)),
                                    TagCall(3, "remove", ("a",))])
        assert [r.error for r in results] == [None, "too many", "Customer not found"]
        assert client.bucket.available == 970 and client.bucket.cost_per_mutation == 10


def test_client_retries_429_with_retry_after_then_gives_up_with_a_clear_error():
    waits: list[float] = []
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(429, headers={"Retry-After": "2.0"}, json={"errors": "slow"})

    client = _client(handler)
    client.sleep = waits.append
    with client, pytest.raises(ShopifyError, match=r"HTTP 429 from Shopify, 3 attempts"):
        client.tag_calls([TagCall(1, "add", ("a",))])
    assert calls["n"] == 3 and waits == [2.0, 2.0]


def test_throttled_answer_waits_for_the_bucket_then_succeeds():
    answers = [
        {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
         "extensions": {"cost": {"requestedQueryCost": 100, "actualQueryCost": None,
                                 "throttleStatus": {"maximumAvailable": 1000.0,
                                                    "currentlyAvailable": 50,
                                                    "restoreRate": 100.0}}}},
        {"data": {f"m{i}": {"userErrors": []} for i in range(10)}},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers.pop(0))

    client = _client(handler)
    waits: list[float] = []
    client.sleep = waits.append
    with client:
        results = client.tag_calls([TagCall(i, "add", ("a",)) for i in range(10)])
    assert all(r.error is None for r in results) and client.throttled == 1
    assert 0.4 < waits[0] <= 0.51  # (100 - 50) points at 100/s


def test_bucket_waits_only_for_what_is_missing():
    now = [0.0]
    bucket = CostBucket(clock=lambda: now[0])
    assert bucket.wait_for(500) == 0  # unknown: send and learn
    bucket.observe({"maximumAvailable": 1000, "currentlyAvailable": 100, "restoreRate": 100}, 0)
    assert bucket.wait_for(300) == pytest.approx(2.0)
    now[0] = 1.0
    assert bucket.wait_for(300) == pytest.approx(1.0)
    now[0] = 100.0
    assert bucket.now_available() == 1000  # never above the bucket size
    assert retry_after_seconds("1.5") == 1.5 and retry_after_seconds(None) == 1.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


def test_history_json_shape(conn, tmp_path, snapshot):
    from segflow.destinations.shopify import actions
    from tests.runtime import helpers as h

    h.plan_apply(conn, h.project("segment buyers { where order_count >= 1 }", tmp_path), tmp_path)
    actions.assign(conn, "buyers", "promo")
    rows = actions.history(conn)
    for row in rows:
        row["created_at"] = "<when>"
    assert json.loads(json.dumps(rows)) == snapshot


def test_fake_listens_on_loopback_only(fake):
    assert fake.server is not None and fake.server.server_address[0] == "127.0.0.1"
