"""Today's Admin API: client-credentials tokens that expire (14.5), supported versions and the
served-version header (14.6), the fake's rules (14.12), where requests may go (15.11)."""

from __future__ import annotations

import pytest

from segflow.connectors.shopify import fake_rules
from segflow.connectors.shopify.auth import ClientCredentials
from segflow.connectors.shopify.bulk import polls_by_id
from segflow.connectors.shopify.client import TagCall
from segflow.connectors.shopify.config import DEFAULT_API_VERSION, ShopifyConfig
from segflow.connectors.shopify.fake import PLANS, FakeOptions, FakeShopify, build_fake
from segflow.errors import SegflowError
from segflow.sources.shopify_api.importer import export
from tests.shopify.conftest import make_client

SECRET = "shpss_0123456789abcdef0123456789abcdef"


def _grant_fake(fake, lifetime: float = 3600.0):
    fake.tokens.client_id, fake.tokens.client_secret = "app-client-1", SECRET
    fake.tokens.lifetime = lifetime
    return ClientCredentials(f"{fake.url}/admin/oauth/access_token", "app-client-1", SECRET)


def test_client_credentials_token_is_granted_then_refreshed_once_on_a_401(fake):
    fake.customers[7] = []
    auth = _grant_fake(fake)
    with make_client(fake, token=auth) as client:
        assert client.tag_calls([TagCall(7, "add", ("a",))])[0].error is None
        assert client.tag_calls([TagCall(7, "add", ("b",))])[0].error is None
        assert fake.tokens.grants == 1  # one token for both requests
        fake.tokens.expire_all()  # Shopify ends the token early: 401, a new one, once
        assert client.tag_calls([TagCall(7, "add", ("c",))])[0].error is None
    assert fake.tokens.grants == 2 and fake.stats["unauthorized"] == 1
    assert fake.customers[7] == ["a", "b", "c"]
    assert auth.scopes >= {"write_customers", "read_all_orders"}
    assert SECRET not in repr(auth) and SECRET not in repr(vars(auth))


def test_a_token_about_to_expire_is_replaced_before_the_request(fake):
    fake.customers[7] = []
    auth = _grant_fake(fake, lifetime=120.0)  # within the refresh margin: always renewed
    with make_client(fake, token=auth) as client:
        for tag in ("a", "b", "c"):
            client.tag_calls([TagCall(7, "add", (tag,))])
    assert fake.tokens.grants == 3 and fake.stats.get("unauthorized", 0) == 0


def test_a_401_after_a_refresh_is_a_clear_error_not_a_loop(fake):
    auth = _grant_fake(fake)
    fake.tokens.lifetime = 0.0  # every granted token is dead on arrival
    with make_client(fake, token=auth) as client, pytest.raises(SegflowError,
                                                                match="refused the access token"):
        client.tag_calls([TagCall(7, "add", ("a",))])
    assert fake.tokens.grants == 2


def test_wrong_client_secret_is_refused_without_echoing_it(fake):
    fake.tokens.client_id, fake.tokens.client_secret = "app-client-1", "other"
    auth = ClientCredentials(f"{fake.url}/admin/oauth/access_token", "app-client-1", SECRET)
    with make_client(fake, token=auth) as client, pytest.raises(SegflowError) as caught:
        client.tag_calls([TagCall(7, "add", ("a",))])
    assert "client credentials" in caught.value.render()
    assert SECRET not in caught.value.render()


def test_default_version_is_supported_and_a_retired_one_falls_forward_with_one_warning(fake):
    assert DEFAULT_API_VERSION in fake_rules.SUPPORTED_VERSIONS
    assert ShopifyConfig(shop="s.myshopify.com").api_version == DEFAULT_API_VERSION
    fake.customers[7] = []
    warnings: list[str] = []
    with make_client(fake, version="2025-01", warn=warnings.append) as client:
        client.tag_calls([TagCall(7, "add", ("a",))])
        client.tag_calls([TagCall(7, "add", ("b",))])
        assert client.served_version == "2026-01"
    assert len(warnings) == 1
    assert "served Admin API version 2026-01, not the 2025-01" in warnings[0]
    with make_client(fake, warn=warnings.append) as client:
        client.tag_calls([TagCall(7, "add", ("c",))])
    assert len(warnings) == 1  # the version asked for is served: no warning


def test_bulk_jobs_are_polled_by_id_where_the_version_has_it(fake):
    assert polls_by_id("2026-01") and polls_by_id("unstable") and not polls_by_id("2025-10")
    fake.export_customers = [{"id": "gid://shopify/Customer/1", "updatedAt": "2026-01-01"}]
    with make_client(fake) as client:
        assert len(export(client, "{ customers { edges { node { id } } } }",
                          poll_seconds=0.01)) == 1
    assert fake.stats["field_bulkOperation"] >= 1
    assert fake.stats.get("field_currentBulkOperation", 0) == 0


def test_the_fake_refuses_unknown_fields_like_shopify(fake):
    body = fake.graphql({"query": "{ customers(first: 1) { nodes { id emial } } }"})
    assert "data" not in body
    (error,) = body["errors"]
    assert error["message"] == "Field 'emial' doesn't exist on type 'Customer'"
    assert error["extensions"] == {"code": "undefinedField", "typeName": "Customer",
                                   "fieldName": "emial"}


def test_the_fake_has_shopifys_bucket_sizes_and_single_query_limit():
    assert (FakeOptions().bucket_size, FakeOptions().restore_rate) == PLANS["standard"]
    assert PLANS == {"standard": (2000.0, 100.0), "plus": (20000.0, 1000.0)}
    from segflow.connectors.shopify.client import build_document

    fake = FakeShopify(FakeOptions(), customers={i: [] for i in range(1, 102)})
    document, variables = build_document([TagCall(i, "add", ("a",)) for i in range(1, 102)])
    answer = fake.graphql({"query": document, "variables": variables})
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"  # 1,010 > 1,000
    assert answer["errors"][0]["extensions"]["maxCost"] == 1000


def test_the_documented_fake_covers_the_generated_store(monkeypatch):
    from segflow.sources.synth.catalog import CUSTOMER_ID_BASE

    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_local")
    fake = build_fake(["--customers", "3"])
    assert sorted(fake.customers) == [CUSTOMER_ID_BASE + i for i in (1, 2, 3)]
    assert fake.options.bucket_size == 2000.0


@pytest.mark.parametrize("endpoint", ["https://evil.example", "https://127.0.0.1.evil.example",
                                      "http://10.0.0.5:8787"])
def test_endpoint_elsewhere_than_this_machine_is_refused(endpoint, monkeypatch):
    cfg = ShopifyConfig(shop="s.myshopify.com", endpoint=endpoint)
    with pytest.raises(SegflowError, match="only point at this machine"):
        cfg.url()


def test_a_loopback_endpoint_needs_the_documented_switch(monkeypatch):
    cfg = ShopifyConfig(shop="s.myshopify.com", endpoint="http://127.0.0.1:8787")
    monkeypatch.delenv("SEG_SHOPIFY_ALLOW_LOCAL")
    with pytest.raises(SegflowError, match="SEG_SHOPIFY_ALLOW_LOCAL=1"):
        cfg.url()
    monkeypatch.setenv("SEG_SHOPIFY_ALLOW_LOCAL", "1")
    assert cfg.url() == f"http://127.0.0.1:8787/admin/api/{DEFAULT_API_VERSION}/graphql.json"
    assert ShopifyConfig(shop="s.myshopify.com").url().startswith("https://s.myshopify.com/")


@pytest.mark.parametrize("shop", ["evil.example", "s.myshopify.com.evil.example", "a b"])
def test_the_shop_must_be_a_myshopify_domain(shop):
    with pytest.raises(ValueError, match="myshopify"):
        ShopifyConfig(shop=shop)
