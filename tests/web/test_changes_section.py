"""The segment page's "Entered and left" section: the day's changes from the recorded events."""

from __future__ import annotations

import re

import psycopg
import pytest

from segflow.web import format
from tests.web.conftest import DAYS
from tests.web.test_analytics_sections import section, tables
from tests.web.test_pages import get


def events(state_url: str, segment: str, day) -> tuple[list[int], list[int]]:
    """Entered and left on a day, straight from the events table (net per customer)."""
    with psycopg.connect(state_url) as conn:
        rows = conn.execute(
            "SELECT customer_id, sum(CASE WHEN entered THEN 1 ELSE -1 END) FROM"
            " segflow.membership_events e JOIN segflow.segments s ON s.ordinal = e.segment_ord"
            " WHERE s.segment_id = %s AND day = %s GROUP BY 1 ORDER BY 1", (segment, day)).fetchall()
    return [c for c, n in rows if n > 0], [c for c, n in rows if n < 0]


def customers(block: str, title: str) -> list[int]:
    for table, heading in zip(tables(block), re.findall(r"<h3>(.*?)</h3>", block), strict=False):
        if heading.startswith(title):
            return [int(row[0]) for row in table[1:]]
    return []


@pytest.mark.parametrize("day", [DAYS[0], DAYS[4], DAYS[-1]])
def test_section_lists_who_entered_and_left_that_day(app, state_url, day):
    entered, left = events(state_url, "buyers", day)
    query = "" if day == DAYS[-1] else f"day={day}"
    status, html = get(app, "/segments/buyers.html", query)
    assert status == 200
    block = section(html, "changes")
    assert f"On {day}: {len(entered):,} entered, {len(left):,} left" in block
    assert customers(block, "Entered") == entered
    assert customers(block, "Left") == left


def test_a_day_outside_the_history_is_a_400_in_place(app):
    status, html = get(app, "/segments/buyers.html", "day=2001-01-01")
    assert status == 400
    assert "no membership history for 2001-01-01" in section(html, "changes")


def test_ids_in_tables_are_never_grouped():
    assert format.value(6_200_000_000_012, "customer_id") == "6200000000012"
    assert format.value(1_032, "customer_count") == "1,032"
