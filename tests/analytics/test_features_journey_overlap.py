"""Features and lift, journeys and overlaps against the plain-Python model."""

from __future__ import annotations

import datetime as dt
from itertools import combinations

import pytest

from segflow.analytics.features import LISTS, features_report
from segflow.analytics.journey import journey_report
from segflow.analytics.overlap import overlap_report
from segflow.errors import SegflowError
from tests.analytics import conftest as store
from tests.analytics.model import LAST_DAY
from tests.runtime import helpers as h

GROUPS = {"lifecycle": ["active", "one_timers", "repeaters"],  # by id
          "everything": ["active", "big_spenders", "one_timers", "repeaters"]}


@pytest.mark.parametrize(("segment", "day"), [
    ("repeaters", None), ("active", dt.date(2026, 6, 9)), ("one_timers", store.APPLIED)])
def test_features_and_lift_match_python(conn, model, segment, day):
    report = features_report(conn, segment, day=day, top=10_000, timezone=h.TZ)
    day = day or LAST_DAY
    assert report.day == day
    assert report.members == len(model.members(segment, day))
    assert report.customers == len(model.population(day))
    want = model.features(segment, day)
    for name in LISTS:
        assert [f.as_dict() for f in report.lists[name]] == want[name], name
    assert all(want[name] for name in LISTS)  # every list has something to compare


def test_features_top_n_is_the_head_of_the_full_ranking(conn):
    full = features_report(conn, "repeaters", top=10_000, timezone=h.TZ)
    top = features_report(conn, "repeaters", top=3, timezone=h.TZ)
    for name in LISTS:
        assert top.lists[name] == full.lists[name][:3]
    assert min(f.lift for f in full.lists["products"]) > 1  # repeaters buy more of all
    one_timers = features_report(conn, "one_timers", top=10_000, timezone=h.TZ)
    lifts = [f.lift for f in one_timers.lists["products"]]
    assert max(lifts) > 1 > min(lifts)


@pytest.mark.parametrize("group", GROUPS)
def test_journey_matches_python_and_sums_to_the_group(conn, model, group):
    start, end = store.APPLIED + dt.timedelta(days=1), LAST_DAY
    report = journey_report(conn, group, start, end)
    segments = GROUPS[group]
    assert report.segments == tuple(segments)
    got = {(t.from_state, t.to_state): t.customers for t in report.transitions}
    assert got == dict(model.journey(segments, start, end))
    in_group = set().union(*(model.members(s, d) for s in segments for d in (start, end)))
    assert report.customers == len(in_group)
    before, after = report.totals()
    assert sum(before.values()) == sum(after.values()) == len(in_group)
    assert before[()] + sum(n for s, n in before.items() if s) == len(in_group)
    assert any(len(s) > 1 for s in before)  # overlapping segments: combined states


def test_journey_over_one_day_stays_on_the_diagonal(conn):
    report = journey_report(conn, "lifecycle", LAST_DAY, LAST_DAY)
    assert all(t.from_state == t.to_state for t in report.transitions)


def test_overlap_matches_python_sets(conn, model):
    segments = ["active", "repeaters", "big_spenders", "late"]
    for day in (LAST_DAY, dt.date(2026, 6, 10)):
        report = overlap_report(conn, segments, day=day)
        sets = {s: model.members(s, day) for s in segments}
        assert report.members == {s: len(v) for s, v in sets.items()}
        for pair, (a, b) in zip(report.pairs, combinations(segments, 2), strict=True):
            assert (pair.a, pair.b) == (a, b)
            assert pair.both == len(sets[a] & sets[b])
            assert pair.union == len(sets[a] | sets[b])
            assert pair.jaccard == len(sets[a] & sets[b]) / len(sets[a] | sets[b])


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: features_report(c, "late", day=store.APPLIED), "no membership history for"),
    (lambda c: features_report(c, "active", top=0), "--top must be at least 1"),
    (lambda c: journey_report(c, "lifecycl", LAST_DAY, LAST_DAY), "did you mean 'lifecycle'"),
    (lambda c: journey_report(c, "lifecycle", LAST_DAY, store.APPLIED), "starts after it ends"),
    (lambda c: overlap_report(c, ["active"]), "at least two segments"),
    (lambda c: overlap_report(c, ["active", "active"]), "named twice"),
    (lambda c: overlap_report(c, ["active", "late"], day=LAST_DAY + dt.timedelta(days=1)),
     "covers 2026-05-25 to 2026-06-17"),
])
def test_bad_requests_are_refused_clearly(conn, call, message):
    with pytest.raises(SegflowError, match=message):
        call(conn)
