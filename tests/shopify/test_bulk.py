"""Large changes through bulk mutations (staged JSONL upload, polled to completion)."""

from __future__ import annotations

import json

from segflow.connectors.shopify.bulk import jsonl, line_mutation
from segflow.connectors.shopify.client import TagCall
from segflow.destinations.shopify.sync import sync
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client, store_tags
from tests.shopify.test_sync import _bulk_store


def test_jsonl_lines_are_the_variables_of_one_mutation():
    lines = jsonl([TagCall(7, "add", ("a", "b"))]).decode().splitlines()
    assert [json.loads(x) for x in lines] == [{"id": "gid://shopify/Customer/7",
                                              "tags": ["a", "b"]}]
    assert "tagsRemove(id: $id, tags: $tags)" in line_mutation("remove")


def test_above_the_threshold_a_bulk_mutation_carries_the_change(conn, fake, tmp_path):
    _bulk_store(conn, 1200, merchant_holders=0)
    fake.customers.update(store_tags(conn))
    fake.customers[100_005] = [f"m{i}" for i in range(250)]  # refused inside the bulk run
    rule = 'segment bulk {{ tag = "{}" where tags contains "bulk" }}'
    h.plan_apply(conn, h.project(rule.format("seg-a"), tmp_path), tmp_path)
    with make_client(fake) as client:
        first = sync(conn, client, bulk_threshold=1000, poll_seconds=0.01)
        assert (first.done, first.failed, first.remaining) == (1199, 1, 0)
        assert first.requests < 20  # stage, run, a few polls: not 1,200 paced calls
        assert len(fake.bulk.operations) == 1
        assert "250" in first.failures[0]["error"]
        # a rename: 1,199 removes and 1,200 adds, two bulk operations one after the other
        h.plan_apply(conn, h.project(rule.format("seg-b"), tmp_path), tmp_path)
        second = sync(conn, client, bulk_threshold=1000, poll_seconds=0.01)
    assert (second.done, second.failed) == (1199 + 1199, 1)
    assert len(fake.bulk.operations) == 3
    for cid in range(100_000, 101_200):
        tags = fake.customers[cid]
        assert "seg-a" not in tags
        assert ("seg-b" in tags) == (cid != 100_005)
    assert conn.execute("SELECT count(*) FROM segflow.tag_outbox WHERE status"
                        " NOT IN ('done', 'failed')").fetchone() == (0,)


def test_below_the_threshold_requests_are_paced_as_usual(conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    h.plan_apply(conn, h.project('segment b { tag = "seg-b" where order_count >= 1 }', tmp_path),
                 tmp_path)
    with make_client(fake) as client:
        result = sync(conn, client, bulk_threshold=1000)
    assert result.done == 8 and fake.bulk.operations == []
