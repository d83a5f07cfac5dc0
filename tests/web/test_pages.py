"""Every route of the dashboard, server-side: status, content, escaping, read-only, no secret."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import psycopg
import pytest

from segflow.web.app import Dashboard, ReadOnlyDatabase
from segflow.web.view import View
from tests.runtime import helpers
from tests.web.conftest import BACKFILLED, DAYS, XSS


def get(app: Dashboard, path: str, query: str = "") -> tuple[int, str]:
    status, _, body = app.respond("GET", path, query)
    return status, body.decode()


def grid_ids(html: str, visible_only: bool = True) -> list[str]:
    rows = re.findall(r'<tr data-id="(\w+)"[^>]*?( hidden)?>', html)
    return [r for r, hidden in rows if not (visible_only and hidden)]


def test_grid_lists_every_segment_with_metrics_and_changes(app):
    status, html = get(app, "/")
    assert status == 200
    assert grid_ids(html) == ["buyers", "repeat_buyers", "vips"]
    assert f"Metrics on {helpers.AS_OF}" in html
    assert "Customers" in html and "Purchase interval (days)" in html
    assert "change since the previous day (1d) and week (7d)" in html
    assert re.search(r'<span class="d (up|down|flat)">1d [+−±]', html)
    assert re.search(r'<span class="d (up|down|flat)">7d [+−±]', html)
    assert get(app, "/index.html") == (status, html)


@pytest.mark.parametrize(("sort", "expected"), [
    ("title", ["vips", "buyers", "repeat_buyers"]),          # "<script>..." sorts first
    ("-id", ["vips", "repeat_buyers", "buyers"]),
    ("customer_count", ["buyers", "repeat_buyers", "vips"]),  # largest first; ties by id
    ("+customer_count", ["repeat_buyers", "vips", "buyers"]),  # ties keep id order
])
def test_grid_sorts_on_the_server(app, sort, expected):
    status, html = get(app, "/", urlencode({"sort": sort}))
    assert status == 200
    assert grid_ids(html) == expected
    key = sort.lstrip("+-")
    assert re.search(rf'data-key="{key}"[^>]*aria-sort="(ascending|descending)"', html)


def test_grid_filters_on_the_server_without_javascript(app):
    _, html = get(app, "/", "q=BUY")
    assert grid_ids(html) == ["buyers", "repeat_buyers"]
    assert grid_ids(html, visible_only=False) == ["buyers", "repeat_buyers", "vips"]
    assert "2 segments" in html
    _, html = get(app, "/", "group=lifecycle&q=repeat")
    assert grid_ids(html) == ["repeat_buyers"]
    _, html = get(app, "/", "q=nothing-like-it")
    assert grid_ids(html) == [] and '<p class="empty" id="grid-empty">' in html


def test_bad_parameters_are_400(app):
    status, html = get(app, "/", "sort=colour")
    assert status == 400 and "cannot sort by" in html
    status, html = get(app, "/", "group=lifecycl")
    assert status == 400 and "did you mean" in html


def test_segment_page(app, state_url):
    status, html = get(app, "/segments/repeat_buyers.html")
    assert status == 200
    assert "<h1>Repeat buyers" in html
    assert "<code>x.seg</code>" in html  # the file it lives in
    assert '<span class="kw">where</span>' in html
    assert '<a class="ref" href="buyers.html">buyers</a>' in html  # `segment buyers` links
    with helpers.connect(state_url) as conn:
        recorded = conn.execute("SELECT count(*) FROM segflow.daily_metrics"
                                " WHERE segment_id = 'repeat_buyers'").fetchone()[0]
    chart = re.search(r'<svg[^>]*data-chart="customer_count".*?</svg>', html, re.S).group(0)
    assert chart.count("<circle") == recorded == len(DAYS)
    assert chart.count('class="pt b"') == BACKFILLED
    assert 'class="band"' in chart and "backfilled" in chart
    bars = re.search(r'<svg[^>]*data-chart="activity_orders".*?</svg>', html, re.S).group(0)
    assert bars.count("<rect class=\"bar") == len(DAYS)
    for section in ("revenue", "features", "tag_sync"):
        block = re.search(rf'<section class="section" id="{section}">.*?</section>', html, re.S)
        assert "Not available yet" not in block.group(0)
    assert 'id="members"' in html and "customers now" in html


def test_member_list_pages(database, state_url):
    app = Dashboard(database, View())
    with helpers.connect(state_url) as conn:
        total = conn.execute("SELECT count(*) FROM segflow.customer_segments").fetchone()[0]
    from segflow.web import sections

    original = sections.PAGE_SIZE
    sections.PAGE_SIZE = 3
    try:
        _, first = get(app, "/segments/buyers.html")
        _, second = get(app, "/segments/buyers.html", "page=2")
        _, silly = get(app, "/segments/buyers.html", "page=banana")
    finally:
        sections.PAGE_SIZE = original
    ids = lambda html: re.findall(  # noqa: E731
        r'<tr><td class="num">(\d+)</td>', html[html.index('id="members"'):])
    assert len(ids(first)) == 3 and len(ids(second)) == 3
    assert not set(ids(first)) & set(ids(second))
    assert "page 2 of" in second and 'rel="prev"' in second
    assert ids(silly) == ids(first)
    assert total >= 6


def test_group_pages(app):
    status, html = get(app, "/groups.html")
    assert status == 200 and 'href="groups/lifecycle.html"' in html
    assert "Lifecycle &lt;b&gt;stages&lt;/b&gt;" in html
    status, html = get(app, "/groups/lifecycle.html")
    assert status == 200
    assert grid_ids(html) == ["buyers", "repeat_buyers"]
    for section in ("journey", "overlap"):
        block = re.search(rf'<section class="section" id="{section}">.*?</section>', html, re.S)
        assert "<table" in block.group(0) and "Not available yet" not in block.group(0)


def test_plan_page(app, database):
    status, html = get(app, "/plan.html")
    assert status == 200
    assert "1 to create, 1 to change" in html
    assert "newcomers" in html and "order_count &gt;= 3" in html
    assert 'href="plan.html"' in get(app, "/")[1]
    without = Dashboard(database, View())
    assert get(without, "/plan.html")[0] == 404
    assert 'href="plan.html"' not in get(without, "/")[1]


@pytest.mark.parametrize("path", ["/segments/nope.html", "/groups/nope.html", "/nope",
                                  "/segments/", "/static/secret.txt", "/static/../app.py"])
def test_unknown_pages_are_404(app, path):
    status, html = get(app, path)
    assert status == 404 and "404" in html


def test_only_reads(app):
    status, _, _ = app.respond("POST", "/", "")
    assert status == 405


def test_escaping_everywhere(app):
    pages = {p: get(app, p)[1] for p in ("/", "/segments/vips.html", "/groups.html",
                                          "/plan.html")}
    for path, html in pages.items():
        assert XSS not in html, path
        assert "<i>vip</i>" not in html and "<b>stages</b>" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["/"]
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; · segflow</title>" in pages[
        "/segments/vips.html"]
    assert "Tagged &lt;i&gt;vip&lt;/i&gt; &amp; friends" in pages["/segments/vips.html"]
    scripts = re.findall(r"<script[^>]*>", "".join(pages.values()))
    assert set(scripts) == {'<script src="static/dashboard.js" defer>',
                            '<script src="../static/dashboard.js" defer>'}


def test_headers_forbid_foreign_content(app):
    _, headers, _ = app.respond("GET", "/", "")
    policy = dict(headers)["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    _, headers, body = app.respond("GET", "/static/style.css", "")
    assert dict(headers)["Content-Type"].startswith("text/css") and body


def test_every_request_is_read_only(database, app, state_url):
    with database.transaction() as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("UPDATE segflow.state SET revision = revision + 1")
    with helpers.connect(state_url) as conn:
        before = helpers.history_counts(conn)
    for path in ("/", "/segments/buyers.html", "/segments/buyers/features.html",
                 "/groups/lifecycle.html", "/plan.html"):
        assert get(app, path)[0] == 200
    with helpers.connect(state_url) as conn:
        assert helpers.history_counts(conn) == before


def test_no_secret_is_shown(app, state_url):
    from urllib.parse import unquote, urlsplit

    password = unquote(urlsplit(state_url).password)
    for path in ("/", "/segments/buyers.html", "/groups/lifecycle.html", "/plan.html"):
        assert password not in unescape(get(app, path)[1])
    port = urlsplit(state_url).port
    gone = Dashboard(ReadOnlyDatabase(state_url.replace(f":{port}/", ":1/")), View())
    status, html = get(gone, "/")
    assert status == 503 and "cannot connect" in html
    assert password not in unescape(html)


def test_an_empty_state_renders_every_page(pg_db):
    with psycopg.connect(pg_db, autocommit=True) as conn:
        from segflow.engines.postgres.db import migrate

        migrate(conn)
    database = ReadOnlyDatabase(pg_db)
    try:
        app = Dashboard(database, View())
        status, html = get(app, "/")
        assert status == 200 and "No metrics yet" in html and "0 segments" in html
        assert get(app, "/groups.html")[0] == 200
        assert get(app, "/segments/anything.html")[0] == 404
    finally:
        database.close()


def test_a_plugged_in_section_renders_its_tables(app, monkeypatch):
    """The contract analytics and tag sync plug into: a provider returning tables."""
    from segflow.web import sections

    def features(conn, segment_id, view):
        assert view.param("top", "5") == "3"
        return {"form": [("top", "Top", view.param("top"))],
                "tables": [{"title": "Most purchased products",
                            "columns": [("product", "Product"), ("share", "Share")],
                            "rows": [{"product": "<Beans>", "share": 0.25}],
                            "note": f"members of {segment_id}"}]}

    plugged = tuple(sections.Section(s.key, s.title, features) if s.key == "tag_sync" else s
                    for s in sections.SEGMENT_SECTIONS)
    monkeypatch.setattr(sections, "SEGMENT_SECTIONS", plugged)
    status, html = get(app, "/segments/buyers.html", "top=3")
    block = re.search(r'<section class="section" id="tag_sync">.*?</section>', html, re.S)[0]
    assert status == 200 and "Not available yet" not in block
    assert "<h3>Most purchased products</h3>" in block and "&lt;Beans&gt;" in block
    assert '<td class="num">0.25</td>' in block and "members of buyers" in block
    assert 'name="top" value="3"' in block
