"""Sending the outbox to the fake Admin API: faults, limits, crashes, pacing."""

from __future__ import annotations

import psycopg
import pytest

from segflow.connectors.shopify.client import ShopifyError
from segflow.connectors.shopify.fake import FAULTS
from segflow.destinations.shopify import outbox
from segflow.destinations.shopify.sync import sync
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client, store_tags

N = 10_000


def _bulk_store(conn: psycopg.Connection, n: int, merchant_holders: int) -> None:
    """n customers tagged "bulk"; the first `merchant_holders` already carry SEG-BULK."""
    conn.execute(
        "INSERT INTO store.customers (customer_id, email, tags)"
        " SELECT 100000 + i, 'c' || i || '@example.com',"
        "        CASE WHEN i < %s THEN ARRAY['bulk', 'SEG-BULK'] ELSE ARRAY['bulk', 'x'] END"
        " FROM generate_series(0, %s - 1) AS i", (merchant_holders, n))


def _outbox(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT customer_id, tag, op, status FROM segflow.tag_outbox"
                        " ORDER BY op_id").fetchall()


def test_ten_thousand_operations_through_twenty_percent_faults_end_exactly_in_sync(
        conn, fake, tmp_path):
    fake.options.fault_rate = 0.2
    _bulk_store(conn, N + 500, merchant_holders=500)
    fake.customers.update(store_tags(conn))
    h.plan_apply(conn, h.project('segment bulk { tag = "seg-bulk" where tags contains "bulk" }',
                                 tmp_path), tmp_path)
    with make_client(fake) as client:
        result = sync(conn, client, batch_size=50)
    rows = _outbox(conn)
    assert len(rows) == N
    assert {r[3] for r in rows} == {"done"}
    assert len({(r[0], r[1], r[2]) for r in rows}) == N  # every operation once
    assert (result.done, result.failed, result.remaining) == (N, 0, 0)
    for cid, tags in store_tags(conn).items():
        expected = tags + ([] if "SEG-BULK" in tags or cid < 100000 else ["seg-bulk"])
        assert fake.customers[cid] == expected, cid
    assert all(fake.stats.get(f"fault_{f}", 0) > 0 for f in FAULTS), fake.stats
    assert result.retries > 0


def test_tag_too_long_fails_locally_on_its_operation_and_is_not_requeued(conn, fake, tmp_path):
    # the checker refuses such a tag in a segment file; one-off actions or older state may not
    fake.customers.update(store_tags(conn))
    long_tag = "t" * 256
    conn.execute("INSERT INTO segflow.applied_tags (customer_id, tag) VALUES (3, %s)", (long_tag,))
    conn.execute("INSERT INTO segflow.tag_outbox (customer_id, tag, op, reason)"
                 " VALUES (3, %s, 'add', 'test')", (long_tag,))
    with make_client(fake) as client:
        result = sync(conn, client)
        assert (result.done, result.failed) == (0, 1)
        assert sync(conn, client).sent == 0
    assert fake.stats.get("mutations", 0) == 0  # never sent
    failed = conn.execute("SELECT status, attempts, last_error FROM segflow.tag_outbox").fetchall()
    assert failed == [("failed", 0, "the tag is longer than 255 characters (256)")]
    assert h.count(conn, "segflow.applied_tags") == 0


def test_customer_at_the_tag_limit_is_reported_by_shopify_and_not_retried_forever(
        conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    fake.customers[3] = [f"m{i}" for i in range(250)]  # Shopify knows more than the store does
    h.plan_apply(conn, h.project('segment repeat { tag = "seg-repeat" where order_count >= 2 }',
                                 tmp_path), tmp_path)
    with make_client(fake) as client:
        first = sync(conn, client)
        assert (first.done, first.failed) == (2, 1)
        assert first.failures[0]["customer_id"] == 3
        assert "250" in first.failures[0]["error"]
        outbox.enqueue_sync(conn, "next day")
        again = sync(conn, client)
    assert again.sent == 0
    assert "seg-repeat" not in fake.customers[3]
    assert conn.execute("SELECT count(*) FROM segflow.applied_tags WHERE customer_id = 3"
                        ).fetchone() == (0,)
    # once the merchant made room, an explicit retry sends it
    fake.customers[3] = fake.customers[3][:10]
    assert outbox.retry_failed(conn) == 1
    with make_client(fake) as client:
        assert sync(conn, client).done == 1
    assert "seg-repeat" in fake.customers[3]


def test_crash_after_claiming_loses_nothing_and_the_next_sync_resends(conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    h.plan_apply(conn, h.project('segment buyers { tag = "seg-buyer" where order_count >= 1 }',
                                 tmp_path), tmp_path)
    claimed, _ = outbox.claim(conn, 3)  # marked in flight, then the process "dies"
    assert len(claimed) == 3
    assert conn.execute("SELECT count(*) FROM segflow.tag_outbox WHERE status = 'sent'"
                        ).fetchone() == (3,)
    with make_client(fake) as client:
        result = sync(conn, client)
    assert result.done == 8 and result.remaining == 0
    buyers = h.members(conn, "buyers")
    assert sorted(c for c, tags in fake.customers.items() if "seg-buyer" in tags) == buyers


def test_shopify_down_keeps_operations_queued_with_the_error(conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    fake.options.fault_rate, fake.options.faults = 1.0, ("500",)
    h.plan_apply(conn, h.project('segment buyers { tag = "seg-buyer" where order_count >= 1 }',
                                 tmp_path), tmp_path)
    with make_client(fake, max_attempts=3) as client, pytest.raises(ShopifyError,
                                                                    match=r"HTTP 500.*3 attempts"):
        sync(conn, client)
    rows = conn.execute("SELECT status, last_error FROM segflow.tag_outbox").fetchall()
    assert {r[0] for r in rows} <= {"pending", "sent"} and len(rows) == 8
    fake.options.fault_rate = 0.0
    with make_client(fake) as client:
        assert sync(conn, client).done == 8


def test_pacing_from_throttle_status_avoids_throttled_answers(conn, fake, tmp_path):
    fake.options.bucket_size, fake.options.restore_rate = 100, 2000  # 10 mutations a burst
    fake.available = 100
    _bulk_store(conn, 300, merchant_holders=0)
    fake.customers.update(store_tags(conn))
    h.plan_apply(conn, h.project('segment bulk { tag = "seg-bulk" where tags contains "bulk" }',
                                 tmp_path), tmp_path)
    with make_client(fake) as client:
        result = sync(conn, client, batch_size=10)
    assert result.done == 300
    assert result.throttled <= 2  # paced by the reported bucket, not by errors
