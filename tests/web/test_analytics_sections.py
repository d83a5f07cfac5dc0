"""The analytics sections, server-side: each shows what its `segflow.analytics` report
gives for the same arguments; bad parameters are a 400 with the reason in place; data is escaped.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import urlencode

import pytest

from segflow.analytics.features import features_report
from segflow.analytics.journey import journey_report, state_label
from segflow.analytics.overlap import overlap_report
from segflow.analytics.revenue import revenue_report
from segflow.web import format
from tests.runtime import helpers
from tests.web.conftest import DAYS, FIRST, MARKUP_PRODUCT
from tests.web.test_pages import get

LAST = DAYS[-1]


def section(html: str, key: str) -> str:
    return re.search(rf'<section class="section" id="{key}">.*?</section>', html, re.S)[0]


def tables(block: str) -> list[list[list[str]]]:
    """Each table of a section as rows of cell texts (header row first)."""
    out = []
    for table in re.findall(r"<table.*?</table>", block, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        out.append([[unescape(re.sub(r"<[^>]+>", "", c)) for c in
                     re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows])
    return out


def shown(value, key: str = "") -> str:
    return "—" if value is None else value if isinstance(value, str) else format.value(value, key)


@pytest.fixture(scope="module")
def conn(state_url):
    with helpers.connect(state_url) as c:
        yield c


# ---- revenue tracking ---------------------------------------------------------------------

def revenue_rows(report) -> list[list[str]]:
    return [[d.day.isoformat(), d.history, shown(d.members, "members"),
             shown(d.orders, "orders"), shown(d.revenue, "revenue")] for d in report.days]


def test_revenue_defaults_to_the_recorded_days_and_matches_the_report(app, conn):
    status, html = get(app, "/segments/buyers.html")
    block = section(html, "revenue")
    assert status == 200
    # the last 30 recorded days: here the whole history, nine days
    report = revenue_report(conn, "buyers", FIRST, LAST, timezone=helpers.TZ)
    assert report.orders > 0
    totals, days = tables(block)
    assert totals[1] == [shown(report.orders, "orders"), shown(report.revenue, "revenue"),
                         shown(report.buyers, "buyers"), str(len(DAYS)), "0"]
    assert days[1:] == revenue_rows(report)
    assert f'name="from" value="{FIRST}"' in block and f'name="to" value="{LAST}"' in block
    bars = re.search(r'<svg[^>]*data-chart="revenue_revenue".*?</svg>', block, re.S)[0]
    assert re.findall(r'data-day="([\d-]+)"', bars) == [d.isoformat() for d in DAYS]


@pytest.mark.parametrize("cohort", ["daily", "start"])
def test_revenue_for_a_chosen_period_and_cohort(app, conn, cohort):
    start, end = DAYS[2], DAYS[6]
    query = urlencode({"from": start, "to": end, "cohort": cohort})
    status, html = get(app, "/segments/buyers.html", query)
    block = section(html, "revenue")
    report = revenue_report(conn, "buyers", start, end, cohort=cohort, timezone=helpers.TZ)
    assert status == 200
    assert tables(block)[1][1:] == revenue_rows(report)
    assert f"From {start} to {end} (5 days), {cohort} cohort" in block
    if cohort == "start":
        assert f"the {report.cohort_size} members at the end of {start}" in block
    assert f'<option selected>{cohort}</option>' in block


def test_revenue_days_without_history_are_shown_as_such(app, conn):
    start, end = FIRST - dt.timedelta(days=5), DAYS[1]
    _, html = get(app, "/segments/buyers.html", urlencode({"from": start, "to": end}))
    block = section(html, "revenue")
    report = revenue_report(conn, "buyers", start, end, timezone=helpers.TZ)
    assert report.days_without_history == 5
    totals, days = tables(block)
    assert days[1:] == revenue_rows(report)
    assert days[1][1:] == ["none", "—", "—", "—"]  # not known: never a zero
    assert totals[1][-1] == "5"
    assert "No membership history on 5 of " in block
    bars = re.search(r'<svg[^>]*data-chart="revenue_revenue".*?</svg>', block, re.S)[0]
    assert bars.count('class="bar none"') == 5 and "tinted: no membership history" in bars


@pytest.mark.parametrize(("query", "message"), [
    ({"from": "2025-13-01"}, "from: '2025-13-01' is not a day (write it YYYY-MM-DD)"),
    ({"to": "soon"}, "to: 'soon' is not a day"),
    ({"from": "0001-01-01"}, "from: 0001-01-01 is out of range"),
    ({"to": "9999-12-31"}, "to: 9999-12-31 is out of range"),
    ({"from": "2025-03-10", "to": "2025-03-09"}, "the period starts after it ends: from "
                                                 "2025-03-10 is after to 2025-03-09"),
    ({"from": "2024-03-01", "to": "2025-03-01"}, "is longer than one year: to must be before "
                                                 "2025-03-01"),
    ({"cohort": "weekly"}, "unknown cohort 'weekly' (one of: daily, start)"),
    ({"from": "2025-01-01", "cohort": "start"}, "no membership history for 2025-01-01"),
])
def test_a_bad_revenue_period_is_a_400_said_in_place(app, query, message):
    status, html = get(app, "/segments/buyers.html", urlencode(query))
    block = section(html, "revenue")
    assert status == 400
    assert message in unescape(re.search(r'<p class="error" role="alert">(.*?)</p>', block)[1])
    for name, value in query.items():  # the form keeps what was sent, to be corrected
        assert f'name="{name}" value="{value}"' in block or \
            f"<option selected>{value}</option>" in block or name == "cohort"
    assert 'data-chart="customer_count"' in html  # the rest of the page is there
    assert "Traceback" not in html


# ---- features -----------------------------------------------------------------------------

def test_the_segment_page_links_to_its_features(app):
    _, html = get(app, "/segments/buyers.html")
    block = section(html, "features")
    assert '<a class="button" href="buyers/features.html">Compute features</a>' in block
    assert "<table" not in block  # computed on request: the segment page stays fast


def test_features_page_matches_the_report_and_escapes_products(app, conn):
    status, html = get(app, "/segments/buyers/features.html")
    assert status == 200
    report = features_report(conn, "buyers", timezone=helpers.TZ)
    block = section(html, "features")
    found = tables(block)
    assert len(found) == len([rows for rows in report.lists.values() if rows])
    shown_lists = iter(found)
    for name, rows in report.lists.items():
        if not rows:
            continue
        table = next(shown_lists)
        assert table[1:] == [[f.value, shown(f.members, "members"),
                              shown(f.member_share, "member_share"), shown(f.orders, "orders"),
                              shown(f.customers, "customers"),
                              shown(f.customer_share, "customer_share"),
                              shown(f.lift, "lift")] for f in rows], name
    assert f"The {report.members} members at the end of {report.day}" in block
    assert MARKUP_PRODUCT in {f.value for f in report.lists["products"]}
    assert MARKUP_PRODUCT not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert '<a href="../buyers.html">buyers</a>' in html  # back to the segment


def test_features_with_parameters(app, conn):
    _, html = get(app, "/segments/buyers/features.html", "top=2&date=" + str(DAYS[4]))
    report = features_report(conn, "buyers", day=DAYS[4], top=2, timezone=helpers.TZ)
    assert tables(section(html, "features"))[0][1:] == [
        [f.value, *(shown(getattr(f, k), k) for k in (
            "members", "member_share", "orders", "customers", "customer_share", "lift"))]
        for f in report.lists["products"]]


@pytest.mark.parametrize(("query", "message"), [
    ("top=0", "top: '0' is not a whole number from 1 to 100"),
    ("top=many", "top: 'many' is not a whole number"),
    ("date=2020-01-01", "no membership history for 2020-01-01"),
    ("date=yesterday", "date: 'yesterday' is not a day"),
])
def test_bad_features_parameters_are_a_400(app, query, message):
    status, html = get(app, "/segments/buyers/features.html", query)
    assert status == 400 and message in unescape(section(html, "features"))


def test_features_of_an_unknown_segment_is_a_404(app):
    assert get(app, "/segments/nope/features.html")[0] == 404


# ---- journey and overlap ------------------------------------------------------------------

def test_journey_defaults_to_the_first_and_last_recorded_days(app, conn):
    status, html = get(app, "/groups/lifecycle.html")
    block = section(html, "journey")
    assert status == 200
    report = journey_report(conn, "lifecycle", FIRST, LAST)
    states = report.states()
    before, after = report.totals()
    cells = {(t.from_state, t.to_state): t.customers for t in report.transitions}
    (matrix,) = tables(block)
    assert matrix[0] == [f"{FIRST} → {LAST}", *map(state_label, states), "Total"]
    assert matrix[1:] == [
        *([state_label(a), *(str(cells.get((a, b), 0)) for b in states), str(before[a])]
          for a in states),
        ["total", *(str(after[b]) for b in states), str(report.customers)]]
    assert ("buyers", "repeat_buyers") in states  # overlapping segments: a combined state
    assert "counted once, in the combined state (a + b)" in block
    assert f"{report.customers} customers were in the group on either day" in block


def test_journey_with_many_states_lists_transitions(app, conn, monkeypatch):
    from segflow.web import analytics

    monkeypatch.setattr(analytics, "MATRIX_STATES", 1)
    _, html = get(app, "/groups/lifecycle.html", urlencode({"from": DAYS[1], "to": DAYS[7]}))
    monkeypatch.setattr(analytics, "MAX_ROWS", 1)
    _, short = get(app, "/groups/lifecycle.html", urlencode({"from": DAYS[1], "to": DAYS[7]}))
    report = journey_report(conn, "lifecycle", DAYS[1], DAYS[7])
    before, after = report.totals()
    per_state, listing = tables(section(html, "journey"))
    assert listing[1:] == [[state_label(t.from_state), state_label(t.to_state), str(t.customers),
                            shown(t.customers / before[t.from_state], "from_share")]
                           for t in report.transitions]
    largest = sorted(report.states(), key=lambda s: -max(before[s], after[s]))
    assert per_state[1:] == [[state_label(s), str(before[s]), str(after[s])] for s in largest]
    assert [len(t) for t in tables(section(short, "journey"))] == [2, 2]  # header + 1 row
    assert (f"The first 1 of {len(report.transitions)} transitions; all of them: <code>seg "
            f"journey lifecycle --from {DAYS[1]} --to {DAYS[7]} --format csv</code>") in short


def test_overlap_matches_the_report(app, conn):
    _, html = get(app, "/groups/lifecycle.html")
    report = overlap_report(conn, ["buyers", "repeat_buyers"])
    (pairs,) = tables(section(html, "overlap"))
    assert pairs[1:] == [[p.a, str(p.a_members), p.b, str(p.b_members), str(p.both),
                          str(p.union), f"{p.jaccard:.3f}"] for p in report.pairs]
    _, html = get(app, "/groups/lifecycle.html", f"date={DAYS[0]}")
    early = overlap_report(conn, ["buyers", "repeat_buyers"], day=DAYS[0])
    assert tables(section(html, "overlap"))[0][1][1] == str(early.pairs[0].a_members)


@pytest.mark.parametrize(("query", "key", "message"), [
    ({"from": LAST, "to": FIRST}, "journey", f"from {LAST} is after to {FIRST}"),
    ({"from": "2020-01-01"}, "journey", "no membership history for 2020-01-01"),
    ({"to": "2025-02-30"}, "journey", "to: '2025-02-30' is not a day"),
    ({"date": "2099-01-01"}, "overlap", "no membership history for 2099-01-01"),
    ({"date": "tomorrow"}, "overlap", "date: 'tomorrow' is not a day"),
])
def test_bad_group_parameters_are_a_400_said_in_place(app, query, key, message):
    status, html = get(app, "/groups/lifecycle.html", urlencode(query))
    assert status == 400 and message in unescape(section(html, key))
    other = "overlap" if key == "journey" else "journey"
    assert "<table" in section(html, other)  # the other section is unaffected
    for name, value in query.items():  # and its form keeps this one's parameters
        assert f'<input type="hidden" name="{name}" value="{value}">' in section(html, other)


# ---- a pending section, static report ---------------------------------------------------

def test_a_section_without_a_provider_says_what_will_bring_it(app, monkeypatch):
    from segflow.web import sections

    pending = tuple(sections.Section(s.key, s.title, None, pending="its <figures> once built",
                                     command="seg x")
                    if s.key == "tag_sync" else s for s in sections.SEGMENT_SECTIONS)
    monkeypatch.setattr(sections, "SEGMENT_SECTIONS", pending)
    _, html = get(app, "/segments/buyers.html")
    assert re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", section(html, "tag_sync")))
                  ).strip() == "Tag sync Not available yet: its <figures> once built ( seg x )."


def test_static_report_shows_the_defaults_and_says_so(database, plan_file, tmp_path):
    from segflow.web.static_site import write_report
    from segflow.web.view import View

    with database.transaction() as conn:
        report = write_report(conn, tmp_path / "site", View(static=True, timezone=helpers.TZ))
    segment = (report.path / "segments/buyers.html").read_text()
    group = (report.path / "groups/lifecycle.html").read_text()
    assert "<form" not in section(segment, "revenue") + section(group, "journey")
    assert "This static report shows the default period, the last 30 days of history" in segment
    assert "<code>seg revenue buyers --from D --to D [--cohort start]</code>" in segment
    assert len(tables(section(segment, "features"))) >= 3  # inline: no server to compute them
    assert "&lt;b&gt;x&lt;/b&gt;" in segment and MARKUP_PRODUCT not in segment
    assert "the group&#39;s first and last recorded days" in group
    assert tables(section(group, "overlap"))[0][1][0] == "buyers"
    assert not (report.path / "segments/buyers").exists()


def test_small_groups_and_a_state_without_runs(pg_db, tmp_path):
    """Applied but never run: revenue over the apply day; a group of one segment has a journey
    but no pair to compare; a group without segments says so. Nothing is a 500."""
    from segflow.web.app import Dashboard, ReadOnlyDatabase
    from segflow.web.view import View

    rules = """
    group solo { title = "Solo" }
    group nobody { title = "Nobody" }
    segment only { title = "Only" groups = [solo] where order_count >= 1 }
    """
    with helpers.connect(pg_db) as conn:
        helpers.load_migrated_store(conn)
        conn.autocommit = True
        helpers.plan_apply(conn, helpers.project(rules, tmp_path), tmp_path)
    database = ReadOnlyDatabase(pg_db)
    try:
        app = Dashboard(database, View(timezone=helpers.TZ))
        status, html = get(app, "/segments/only.html")
        assert status == 200
        assert f"From {helpers.AS_OF} to {helpers.AS_OF} (1 day)" in section(html, "revenue")
        status, html = get(app, "/groups/solo.html")
        assert status == 200 and "<table" in section(html, "journey")
        assert "The group has one segment (only): no pair to compare." in section(html, "overlap")
        status, html = get(app, "/groups/nobody.html")
        assert status == 200
        for key in ("journey", "overlap"):
            assert "group &#39;nobody&#39; has no segments" in section(html, key)
    finally:
        database.close()
