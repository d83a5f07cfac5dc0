"""Every document segflow sends to the Admin API validates against Shopify's published schema
(2026-10, from the npm package @shopify/dev-mcp: tests/shopify/schema/README.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from graphql import parse, validate

from segflow.connectors.shopify import bulk
from segflow.connectors.shopify.client import TagCall, build_document
from segflow.sources.shopify_api import importer as ingest_api
from tests.shopify.conftest import admin_schema, make_client

SINCE = ingest_api._filter(dt.datetime(2025, 3, 1, tzinfo=dt.UTC))

DOCUMENTS = {
    "tag mutations (aliased)": build_document([TagCall(1, "add", ("a",)),
                                               TagCall(2, "remove", ("b",))])[0],
    "bulk line: tagsAdd": bulk.line_mutation("add"),
    "bulk line: tagsRemove": bulk.line_mutation("remove"),
    "staged upload": bulk._STAGE,
    "bulk mutation": bulk._RUN,
    "poll by id": bulk.POLL_BY_ID,
    "poll current (before 2026-01)": bulk._POLL_CURRENT % "MUTATION",
    "bulk query": ingest_api._RUN,
    "granted scopes": ingest_api.SCOPES,
    "bulk customers export": ingest_api._CUSTOMERS % {"filter": ""},
    "bulk customers export, incremental": ingest_api._CUSTOMERS % {"filter": SINCE},
    "bulk orders export": ingest_api._ORDERS % {"filter": ""},
    "bulk orders export, incremental": ingest_api._ORDERS % {"filter": SINCE},
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_against_the_published_admin_schema(name):
    errors = validate(admin_schema(), parse(DOCUMENTS[name]))
    assert [e.message for e in errors] == []


def test_an_unknown_field_in_a_bulk_query_is_refused_by_the_fake_like_shopify(fake):
    from segflow.connectors.shopify.client import ShopifyError
    from segflow.sources.shopify_api.importer import export

    with make_client(fake) as client, pytest.raises(ShopifyError) as caught:
        export(client, "{ customers { edges { node { id emailz } } } }", poll_seconds=0.01)
    assert "Invalid bulk query: Field 'emailz' doesn't exist on type 'Customer'" in str(
        caught.value)
