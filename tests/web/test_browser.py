"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

One browser and one live server for the session. In CI (CI=true) these tests must run: a missing
Chromium or Playwright fails them loudly; elsewhere they are skipped with the reason.
Screenshots of every page go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import DAYS, MARKUP_ERROR, MARKUP_TAG, XSS

CHROMIUM = Path(os.environ.get("SEG_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def base_url(app) -> Iterator[str]:
    from segflow.web.server import make

    server = make(app, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors, page errors and dialogs (none allowed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.problems = []  # type: ignore[attr-defined]
    p.on("console", lambda m: m.type == "error" and p.problems.append(m.text))
    p.on("pageerror", lambda e: p.problems.append(str(e)))
    p.on("dialog", lambda d: (p.problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield p
    context.close()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def visible_ids(page) -> list[str]:
    return page.eval_on_selector_all("#segment-grid tbody tr:not([hidden])",
                                     "rows => rows.map(r => r.dataset.id)")


@pytest.mark.parametrize(("name", "path"), [
    ("grid", "/"), ("segment", "/segments/repeat_buyers.html"), ("groups", "/groups.html"),
    ("group", "/groups/lifecycle.html"), ("plan", "/plan.html"), ("escaping", "/segments/vips.html"),
    ("features", "/segments/buyers/features.html"), ("segment-tagged", "/segments/buyers.html"),
])
def test_every_page_loads_without_console_errors(page, base_url, name, path):
    response = page.goto(base_url + path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    shoot(page, name)
    assert page.problems == []


def test_grid_sorts_and_filters(page, base_url):
    page.goto(base_url + "/")
    assert visible_ids(page) == ["buyers", "repeat_buyers", "vips"]
    page.click("th[data-key=customer_count] a")  # in place, largest first
    assert page.get_attribute("th[data-key=customer_count]", "aria-sort") == "descending"
    counts = page.eval_on_selector_all(
        "#segment-grid tbody tr", "rows => rows.map(r => Number(r.cells[2].dataset.value))")
    assert counts == sorted(counts, reverse=True)
    assert "sort=customer_count" in page.url
    page.click("th[data-key=title] a")
    assert visible_ids(page) == ["vips", "buyers", "repeat_buyers"]
    page.fill("#grid-search", "buy")
    assert visible_ids(page) == ["buyers", "repeat_buyers"]
    page.fill("#grid-search", "")
    page.select_option("#grid-group", "lifecycle")
    assert visible_ids(page) == ["buyers", "repeat_buyers"]
    assert page.inner_text("#grid-count") == "2 segments"
    page.reload()  # the address keeps the state; the server applies it without JavaScript
    assert visible_ids(page) == ["buyers", "repeat_buyers"]
    assert page.get_attribute("th[data-key=title]", "aria-sort") == "ascending"
    assert page.problems == []


def test_history_chart_has_one_point_per_recorded_day(page, base_url):
    page.goto(base_url + "/segments/buyers.html")
    days = page.eval_on_selector_all("svg[data-chart=customer_count] circle",
                                     "cs => cs.map(c => c.dataset.day)")
    assert days == [d.isoformat() for d in DAYS]
    backfilled = page.eval_on_selector_all("svg[data-chart=customer_count] circle.b",
                                           "cs => cs.length")
    assert backfilled == 3
    bars = page.eval_on_selector_all("svg[data-chart=activity_orders] rect.bar", "r => r.length")
    assert bars == len(DAYS)


def test_analytics_sections_in_the_browser(page, base_url):
    """Revenue tracking's form, the features link, journey and overlap: no console error."""
    page.goto(base_url + "/segments/buyers.html")
    bars = page.eval_on_selector_all("svg[data-chart=revenue_revenue] rect.bar",
                                     "rs => rs.map(r => r.dataset.day)")
    assert bars == [d.isoformat() for d in DAYS]  # the default period: every recorded day
    early = (DAYS[0] - dt.timedelta(days=3)).isoformat()
    page.fill("#revenue input[name=from]", early)
    page.select_option("#revenue select[name=cohort]", "daily")
    page.click("#revenue button[type=submit]")
    page.wait_for_load_state("load")
    assert f"from={early}" in page.url and page.url.endswith("#revenue")
    assert page.eval_on_selector_all("svg[data-chart=revenue_revenue] rect.bar.none",
                                     "rs => rs.length") == 3  # days before the history
    shoot(page, "segment-revenue")
    assert page.problems == []
    page.fill("#revenue input[name=from]", DAYS[-1].isoformat())
    page.fill("#revenue input[name=to]", DAYS[0].isoformat())
    with page.expect_navigation() as navigation:
        page.click("#revenue button[type=submit]")
    assert navigation.value.status == 400
    assert "starts after it ends" in page.inner_text("#revenue .error")
    # the browser reports the page's 400 status itself; nothing else may go wrong
    assert page.problems == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    page.problems.clear()
    page.click("#features a.button")
    assert page.url.endswith("/segments/buyers/features.html")
    assert page.inner_text("#features table td:first-child").strip()
    assert page.locator("text=<b>x</b>").count() >= 1  # a product named like markup, as text
    shoot(page, "features")
    page.goto(base_url + "/groups/lifecycle.html")
    assert page.locator("#journey table tbody tr").count() >= 2
    assert "combined state" in page.inner_text("#journey")
    assert page.locator("#overlap table td:has-text('0.375')").count() == 1
    shoot(page, "group-analytics")
    assert page.problems == []


def test_a_title_made_of_markup_shows_as_text(page, base_url):
    page.goto(base_url + "/segments/vips.html")
    assert page.inner_text("h1") == XSS
    assert page.title() == f"{XSS} · segflow"
    page.goto(base_url + "/")
    assert page.inner_text("#segment-grid tr[data-id=vips] td:nth-child(2)") == XSS
    scripts = page.eval_on_selector_all("script", "s => s.map(x => x.getAttribute('src'))")
    assert scripts == ["static/dashboard.js"]
    assert page.problems == []


def test_tag_sync_shows_errors_and_tags_made_of_markup_as_text(page, base_url):
    page.goto(base_url + "/segments/buyers.html#tag_sync")
    assert page.locator("#tag_sync td", has_text=MARKUP_ERROR).count() == 1
    assert page.locator("#tag_sync td", has_text=MARKUP_TAG).count() == 1
    assert page.locator("#tag_sync img, #tag_sync b").count() == 0
    shoot(page, "segment-tag-sync")
    assert page.problems == []


def test_static_report_works_from_disk(page, state_url, plan_file, tmp_path):
    from segflow.web.app import ReadOnlyDatabase
    from segflow.web.static_site import write_report
    from segflow.web.view import View

    db = ReadOnlyDatabase(state_url)
    try:
        with db.transaction() as conn:
            report = write_report(conn, tmp_path / "site", View(static=True, plan_path=plan_file))
    finally:
        db.close()
    page.goto((report.path / "index.html").as_uri() + "?group=lifecycle&sort=title")
    assert visible_ids(page) == ["buyers", "repeat_buyers"]
    page.click("#segment-grid tr[data-id=buyers] a")
    assert page.url.endswith("segments/buyers.html")
    page.click("header nav a:has-text('Groups')")
    assert page.url.endswith("/groups.html")
    shoot(page, "report-groups")
    assert page.problems == []
