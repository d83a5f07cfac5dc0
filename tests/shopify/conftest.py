"""Fixtures for the tag sync tests: a migrated store database and the fake Admin API, which
validates every document against Shopify's published Admin schema (tests/shopify/schema)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from segflow.connectors.shopify.client import AdminClient
from segflow.connectors.shopify.config import DEFAULT_API_VERSION
from segflow.connectors.shopify.fake import FakeOptions, FakeShopify, load_schema
from segflow.connectors.shopify.throttle import Backoff
from tests.runtime.conftest import conn, store_db, store_template  # noqa: F401

TOKEN = "shpat_test_0123456789abcdef"  # a token-shaped secret the tests grep for
SCHEMA = Path(__file__).parent / "schema" / "admin_2026-10.json.gz"


@functools.cache
def admin_schema():
    """Shopify's Admin GraphQL schema, 2026-10 (built once per process)."""
    return load_schema(str(SCHEMA))


def store_tags(db: psycopg.Connection) -> dict[int, list[str]]:
    """Shopify's side at the start: every store customer with the tags the store shows."""
    return {cid: list(tags) for cid, tags in
            db.execute("SELECT customer_id, tags FROM store.customers ORDER BY 1")}


@pytest.fixture(autouse=True)
def _allow_local_endpoint(monkeypatch) -> None:
    """The fake listens on 127.0.0.1: allowed only with this documented switch."""
    monkeypatch.setenv("SEG_SHOPIFY_ALLOW_LOCAL", "1")


@pytest.fixture
def fake_options() -> FakeOptions:
    """Fast bucket for tests (the benchmark uses the real one); the real schema."""
    return FakeOptions(token=TOKEN, bucket_size=1000, restore_rate=100_000, retry_after="0",
                       slow_seconds=0.05, schema=admin_schema())


@pytest.fixture
def fake(fake_options) -> Iterator[FakeShopify]:
    with FakeShopify(fake_options) as server:
        yield server


def make_client(fake: FakeShopify, token=TOKEN, version: str = DEFAULT_API_VERSION,
                **kw) -> AdminClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("backoff", Backoff(base=0.005, cap=0.05))
    return AdminClient(f"{fake.url}/admin/api/{version}/graphql.json", token, **kw)


@pytest.fixture
def client(fake) -> Iterator[AdminClient]:
    with make_client(fake) as c:
        yield c
