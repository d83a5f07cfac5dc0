"""The segment page's tag-sync section, server-side, over tag sync done by the runtime against the
fake Admin API (tests/web/conftest.py::sync_tags): counts, failures, one-off actions, escaping,
the no-tag case, and nothing of the [shopify] configuration but the shop's domain."""

from __future__ import annotations

import re
from html import unescape

import pytest

from segflow.analytics import reports
from segflow.web.app import Dashboard
from segflow.web.view import View
from tests.runtime import helpers
from tests.shopify.conftest import TOKEN
from tests.web.conftest import MARKUP_ERROR, MARKUP_TAG
from tests.web.test_analytics_sections import section, tables
from tests.web.test_pages import get

SHOP = "coffee-<shop>.myshopify.com"  # never valid in seg.toml; here to see it escaped


@pytest.fixture(scope="module")
def conn(state_url):
    with helpers.connect(state_url) as c:
        yield c


@pytest.fixture(scope="module")
def shop_app(database) -> Dashboard:
    return Dashboard(database, View(shop=SHOP, timezone=helpers.TZ))


def text(block: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", block))).strip()


def expected(conn) -> dict:
    """What the outbox and ledger hold for buyers, counted here independently of the runtime."""
    members = {r["customer_id"] for r in reports.members(conn, "buyers")}
    rows = conn.execute("SELECT customer_id, op, status, action_id, last_error"
                        " FROM segflow.tag_outbox WHERE segment_id = 'buyers'").fetchall()
    sync_ops = [r for r in rows if r[3] is None]
    failed = {r[0]: r[4] for r in sync_ops if r[2] == "failed"}
    return {"members": members, "failed": failed,
            "done": sum(1 for r in sync_ops if r[2] == "done"),
            "action_failed": sum(1 for r in rows if r[3] is not None and r[2] == "failed")}


def test_a_synced_segment_shows_its_tag_carriers_operations_and_failures(shop_app, conn):
    want = expected(conn)
    assert len(want["failed"]) == 2 and want["done"] == len(want["members"]) - 2  # the setup
    status, html = get(shop_app, "/segments/buyers.html")
    block = section(html, "tag_sync")
    assert status == 200 and "Not available yet" not in block
    carriers = len(want["members"]) - 2  # the two refused adds are not ours
    assert (f"Kept in sync on {SHOP} as the tag seg-buyer: {carriers:,} customers carry it "
            "from segflow.") in text(block)
    assert re.search(r"Last synced: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d\.", text(block))
    counts, failures, actions = tables(block)
    assert counts == [["Pending", "In flight", "Done", "Failed", "Cancelled"],
                      ["0", "0", f"{want['done']:,}", "2", "0"]]
    assert failures[0] == ["When", "Customer", "Operation", "Tag", "Attempts", "Error"]
    assert sorted((int(r[1]), r[2], r[3], r[5]) for r in failures[1:]) == sorted(
        (cid, "add", "seg-buyer", error) for cid, error in want["failed"].items())
    assert "Customer does not exist" in want["failed"].values()  # Shopify's userError, as is
    assert actions[0] == ["When", "Action", "Tag", "Customers targeted", "Operations", "Done",
                          "Failed", "Waiting", "Status"]
    (action,) = actions[1:]
    n = len(want["members"])
    assert action[1:] == ["assign", MARKUP_TAG, f"{n:,}", f"{n:,}", f"{n - 1:,}", "1", "0",
                          "partly failed"]


def test_error_texts_and_tags_are_escaped(shop_app):
    block = section(get(shop_app, "/segments/buyers.html")[1], "tag_sync")
    assert MARKUP_ERROR not in block and "<img" not in block
    assert "Tag &lt;img src=x onerror=alert(1)&gt; refused" in block
    assert MARKUP_TAG not in block and "&lt;b&gt;promo&lt;/b&gt;" in block
    assert "coffee-&lt;shop&gt;.myshopify.com" in block


def test_a_segment_without_a_tag_says_how_to_add_one(app):
    status, html = get(app, "/segments/vips.html")
    block = text(section(html, "tag_sync"))
    assert status == 200
    assert block.startswith("Tag sync This segment has no Shopify tag. To keep one on its "
                            'members, add tag = "..." to its definition in ')
    assert "then seg plan and seg apply" in block
    assert "One-off tag actions" in block and "Nothing to show." in block


def test_one_off_actions_show_on_the_segment_they_targeted_only(app):
    block = section(get(app, "/segments/repeat_buyers.html")[1], "tag_sync")
    assert "no Shopify tag" in block and "promo" not in block and "<table" not in block


def test_no_token_or_shopify_setting_but_the_domain_in_any_page(state_url, tmp_path,
                                                                 monkeypatch):
    from click.testing import CliRunner

    from segflow.cli.main import cli

    (tmp_path / "seg.toml").write_text(
        '[store]\ntimezone = "America/Toronto"\n\n[shopify]\nshop = "beans.myshopify.com"\n'
        'api_version = "2024-07"\ntoken_env = "SEG_WEB_SECRET_TOKEN"\n'
        'endpoint = "http://127.0.0.1:9/hidden-endpoint"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": state_url, "SEG_WEB_SECRET_TOKEN": TOKEN})
    out = tmp_path / "site"
    result = runner.invoke(cli, ["-C", str(tmp_path), "report", "--out", str(out),
                                 "--no-features"])
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    site = "".join(p.read_text() for p in out.rglob("*.html"))
    assert "Kept in sync on beans.myshopify.com as the tag" in site
    for secret in (TOKEN, "SEG_WEB_SECRET_TOKEN", "hidden-endpoint", "2024-07", "127.0.0.1:9"):
        assert secret not in site
