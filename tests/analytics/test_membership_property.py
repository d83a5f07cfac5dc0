"""For any membership timeline, the events the runtime would write rebuild it exactly: on every
day (members at the end of the day) and as spells over a period, whatever same-day back-and-forth
(a run, then an apply the same day) the events hold."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.analytics.membership import MEMBERS_ON, SPELLS

ORD = 9_999  # an ordinal no segment of the test store uses
DAY0 = dt.date(2026, 1, 1)
DAYS = 12

# per customer: the state at the end of each day, and the days with an extra same-day round
# trip (left and back, or in and out again) that nets to nothing
timelines = st.lists(
    st.tuples(st.lists(st.booleans(), min_size=DAYS, max_size=DAYS),
              st.sets(st.integers(0, DAYS - 1), max_size=3)),
    min_size=1, max_size=6)


def _events(timeline: list[tuple[list[bool], set[int]]]) -> list[tuple]:
    rows = []
    for customer, (states, round_trips) in enumerate(timeline, start=1):
        before = False
        for n, member in enumerate(states):
            day = DAY0 + dt.timedelta(days=n)
            if member != before:
                rows.append((day, ORD, customer, member))
            if n in round_trips:  # flip and flip back, after the day's real change
                rows += [(day, ORD, customer, not member), (day, ORD, customer, member)]
            before = member
    return rows


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timelines)
def test_events_rebuild_any_timeline(conn, timeline):
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO segflow.membership_events (day, segment_ord, customer_id,"
                            " entered) VALUES (%s, %s, %s, %s)", _events(timeline))
        for n in range(DAYS):
            day = DAY0 + dt.timedelta(days=n)
            got = {c for _o, c in conn.execute(MEMBERS_ON, {"ords": [ORD], "until": day})}
            want = {c for c, (states, _t) in enumerate(timeline, start=1) if states[n]}
            assert got == want, day
        start, end = DAY0 + dt.timedelta(days=3), DAY0 + dt.timedelta(days=DAYS - 1)
        spells = conn.execute(SPELLS, {"ords": [ORD], "since": start, "until": end}).fetchall()
        for n in range(3, DAYS):
            day = DAY0 + dt.timedelta(days=n)
            covered = [c for _o, c, since, until in spells
                       if since <= day and (until is None or day < until)]
            want = [c for c, (states, _t) in enumerate(timeline, start=1) if states[n]]
            assert sorted(covered) == want, day  # each member in exactly one spell
