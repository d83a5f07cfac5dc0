"""The tag commands end to end: seg apply / run / sync / tags against the fake, and the token
never showing anywhere."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.connectors.shopify.config import ShopifyConfig
from segflow.destinations.shopify.sync import open_client
from tests.runtime import helpers as h
from tests.shopify.conftest import TOKEN, store_tags

RULES = """
segment repeat {
  tag = "seg-repeat"
  where order_count >= 2
}

segment buyers {
  where order_count >= 1
}
"""


def _project(tmp_path: Path, fake, token_env: str = "SEG_TEST_SHOPIFY_TOKEN",
             auth: str | None = None, version: str = "2026-10") -> Path:
    root = tmp_path / "repo"
    (root / "segments").mkdir(parents=True, exist_ok=True)
    (root / "segments" / "x.seg").write_text(RULES)
    auth = auth if auth is not None else f'token_env = "{token_env}"\n'
    (root / "seg.toml").write_text(
        f'[store]\ntimezone = "{h.TZ}"\n\n[shopify]\nshop = "test-store.myshopify.com"\n'
        f'api_version = "{version}"\n{auth}endpoint = "{fake.url}"\n'
        "max_attempts = 2\n")
    return root


ENV = {"SEG_SHOPIFY_ALLOW_LOCAL": "1"}


class Seg:
    """Runs `seg` in-process, keeping everything it printed."""

    def __init__(self, root: Path, env: dict):
        self.root, self.env, self.seen = root, env, []

    def __call__(self, *args: str, code: int = 0):
        result = CliRunner().invoke(cli, ["-C", str(self.root), *args], env=self.env)
        text = result.output  # stdout and stderr, interleaved
        self.seen.append(text + repr(result.exception or ""))
        assert result.exit_code == code, text
        return text


def test_apply_run_sync_and_one_off_actions_keep_shopify_in_step(conn, store_db, fake, tmp_path,
                                                                  caplog):
    caplog.set_level(logging.DEBUG)
    fake.customers.update(store_tags(conn))
    root = _project(tmp_path, fake)
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN})
    out = seg("apply", "--auto-approve")
    repeat = h.members(conn, "repeat")
    assert f"Tag sync: {len(repeat)} done, 0 failed, 0 left" in out
    assert sorted(c for c, t in fake.customers.items() if "seg-repeat" in t) == repeat

    out = seg("tags", "assign", "buyers", "promo-2025")
    assert "customers targeted" in out and "Tag sync:" in out
    buyers = h.members(conn, "buyers")
    assert sorted(c for c, t in fake.customers.items() if "promo-2025" in t) == buyers

    rows = json.loads(seg("tags", "history", "--format", "json"))
    assert [(r["kind"], r["tag"], r["segment"], r["customers"], r["status"]) for r in rows] == [
        ("assign", "promo-2025", "buyers", len(buyers), "done")]
    assert set(rows[0]) == {"action_id", "kind", "tag", "segment", "customers", "operations",
                            "done", "failed", "waiting", "cancelled", "status", "created_at"}

    out = seg("tags", "remove", "seg-repeat", code=1)
    assert "kept in sync by segment repeat" in out
    seg("tags", "remove", "promo-2025")
    assert not any("promo-2025" in t for t in fake.customers.values())
    assert "Tag sync: 0 done" in seg("sync")

    # failures: a wrong token, then Shopify down
    seg.env["SEG_TEST_SHOPIFY_TOKEN"] = TOKEN + "-wrong"
    seg("tags", "assign", "buyers", "again", "--no-sync")
    bad = seg("sync", code=1)
    assert "refused the access token" in bad
    seg.env["SEG_TEST_SHOPIFY_TOKEN"] = TOKEN
    fake.options.fault_rate, fake.options.faults = 1.0, ("500",)
    down = seg("sync", code=1)
    assert "HTTP 500 from Shopify, 2 attempts" in down and "Traceback" not in down
    ran = seg("run", "--date", str(h.AS_OF), code=1)
    assert "Run for 2025-03-15" in ran and "the run itself was recorded" in ran
    del seg.env["SEG_TEST_SHOPIFY_TOKEN"]
    missing = seg("sync", code=1)
    assert "SEG_TEST_SHOPIFY_TOKEN" in missing

    everything = "\n".join(seg.seen) + caplog.text
    assert TOKEN not in everything
    assert TOKEN[:16] not in everything


def test_client_repr_and_errors_omit_the_token(fake):
    cfg = ShopifyConfig(shop="s.myshopify.com", token_env="SEG_TEST_TOKEN_X", endpoint=fake.url)
    import os

    os.environ["SEG_TEST_TOKEN_X"] = TOKEN
    try:
        client = open_client(cfg)
    finally:
        del os.environ["SEG_TEST_TOKEN_X"]
    with client:
        assert TOKEN not in repr(client) and TOKEN not in str(client)
        assert TOKEN not in repr(vars(client))
        try:
            client.execute("{ shop { name } }", {})
        except Exception as exc:  # the fake refuses unknown documents
            assert TOKEN not in str(exc) and TOKEN not in repr(exc)


def test_config_refuses_a_token_in_place_of_the_variable_name(tmp_path, fake):
    root = _project(tmp_path, fake, token_env=TOKEN + "-x")
    out = CliRunner().invoke(cli, ["-C", str(root), "sync"])
    assert out.exit_code == 1
    assert "NAME of an environment variable" in out.output
    assert TOKEN not in out.output


SECRET_SHAPES = r"shp(at|ca|pa|ss)_[A-Za-z0-9]|[0-9a-fA-F]{32}"


@pytest.mark.parametrize("pasted", ["shpat_0123456789abcdef0123456789abcdef",
                                    "shpss_0123456789abcdef", "0123456789abcdef0123456789abcdef"])
def test_a_secret_pasted_into_token_env_is_never_echoed(tmp_path, fake, pasted):
    # a valid variable name, so the old check let it through to "export it in ... shpat_…"
    root = _project(tmp_path, fake, auth=f'token_env = "{pasted}"\n')
    outputs = [CliRunner().invoke(cli, ["-C", str(root), *args], env=ENV).output
               for args in (["sync"], ["ingest", "shopify-api"])]
    for out in outputs:
        assert "looks like a token or secret itself" in out, out
        assert pasted not in out and not re.search(SECRET_SHAPES, out), out


def test_no_token_shape_reaches_any_output_even_from_shopifys_own_messages(
        conn, store_db, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    fake.customers.pop(3)  # an add Shopify refuses: its message is printed
    root = _project(tmp_path, fake)
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN})
    seg("apply", "--auto-approve", code=1)
    seg.env["SEG_TEST_SHOPIFY_TOKEN"] = "wrong-" + TOKEN
    seg("tags", "assign", "buyers", "x1", code=1)
    everything = "\n".join(seg.seen)
    assert not re.search(SECRET_SHAPES, everything), everything


def test_sync_and_assign_exit_1_when_operations_fail_and_say_how_many(conn, store_db, fake,
                                                                       tmp_path):
    fake.customers.update(store_tags(conn))
    root = _project(tmp_path, fake)
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN})
    out = seg("apply", "--auto-approve")
    assert "0 failed" in out
    buyers = h.members(conn, "buyers")
    fake.customers = {}  # every customer "does not exist" in Shopify
    out = seg("tags", "assign", "buyers", "gone", code=1)
    assert f"{len(buyers)} done" not in out
    assert f"Tag sync: 0 done, {len(buyers)} failed" in out
    assert f"{len(buyers)} tag operations failed for good in this sync" in out
    assert "seg sync --retry-failed" in out
    seg("sync", "--retry-failed", code=1)
    assert "Tag sync: 0 done, 0 failed, 0 left" in seg("sync")  # nothing failed in this run


def test_client_credentials_from_the_cli_never_print_the_secret(conn, store_db, fake, tmp_path):
    secret = "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"
    fake.tokens.client_id, fake.tokens.client_secret = "app-client-1", secret
    fake.customers.update(store_tags(conn))
    root = _project(tmp_path, fake, auth='client_id = "app-client-1"\n'
                                         'client_secret_env = "SEG_TEST_SECRET"\n')
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SECRET": secret})
    out = seg("apply", "--auto-approve")
    assert "Tag sync:" in out and "0 failed" in out
    assert fake.tokens.grants == 1
    seg("tags", "assign", "buyers", "x", "--no-sync")
    seg.env["SEG_TEST_SECRET"] = secret[:-1] + "0"
    bad = seg("sync", code=1)
    assert "refused the app's client credentials" in bad
    del seg.env["SEG_TEST_SECRET"]
    assert "SEG_TEST_SECRET" in seg("sync", code=1)
    everything = "\n".join(seg.seen)
    assert secret not in everything and not re.search(SECRET_SHAPES, everything)


def test_a_retired_version_in_config_warns_once_per_command(conn, store_db, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    root = _project(tmp_path, fake, version="2025-01")
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN})
    out = seg("apply", "--auto-approve")
    assert out.count("served Admin API version 2026-01, not the 2025-01") == 1


def test_history_shows_a_cancelled_assign_as_cancelled(conn, store_db, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    root = _project(tmp_path, fake)
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN})
    seg("apply", "--auto-approve")
    seg("tags", "assign", "buyers", "promo", "--no-sync")
    seg("tags", "remove", "promo", "--no-sync")  # overtakes every waiting add
    rows = json.loads(seg("tags", "history", "--format", "json"))
    by_kind = {r["kind"]: r for r in rows}
    assign = by_kind["assign"]
    assert (assign["status"], assign["operations"], assign["done"]) == ("cancelled", 0, 0)
    assert assign["cancelled"] == assign["customers"] > 0


def test_sync_reports_members_without_a_shopify_id(conn, store_db, fake, tmp_path):
    from segflow.sources.shopify_csv.parsing import derived_id

    conn.execute("INSERT INTO store.customers (customer_id, email) VALUES (%s, 'x@example.com')",
                 (derived_id("email", "x@example.com"),))
    conn.execute("INSERT INTO store.orders (order_id, customer_id, placed_at, created_at,"
                 " total_price) SELECT 990000 + g, %s, now() - g * interval '1 day',"
                 " now() - g * interval '1 day', 10 FROM generate_series(1, 2) AS g",
                 (derived_id("email", "x@example.com"),))
    fake.customers.update(store_tags(conn))
    root = _project(tmp_path, fake)
    seg = Seg(root, {**ENV, "SEG_DATABASE_URL": store_db, "SEG_TEST_SHOPIFY_TOKEN": TOKEN})
    plan = seg("plan")
    out = seg("apply", "--auto-approve")
    assert "1 member without a Shopify customer id not tagged" in plan + out
    assert ("1 member of tagged segments has no Shopify customer id" in out
            and "0 failed" in out)
