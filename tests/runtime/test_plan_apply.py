"""plan and apply on a real database: what the plan shows is what apply does."""

from __future__ import annotations

import datetime as dt

import pytest

from segflow.errors import SegflowError
from tests.runtime import helpers as h

BASE = """
group lifecycle { title = "Lifecycle" }
group old_group { title = "Old" }
segment buyers { groups = [lifecycle] where order_count >= 1 }
segment repeat { groups = [lifecycle, old_group] tag = "seg-repeat" where order_count >= 2 }
segment repeat_vip { where segment repeat and tags contains "vip" }
segment vips { where tags contains "vip" }
"""
# on 2025-03-15: buyers = 2 3 4 5 7 8 9 12; repeat = 3 4 5; repeat_vip = 4; vips = 1 4 9


def changes(plan) -> dict:
    return {c.id: c for c in plan.segments}


def test_plan_on_empty_state_creates_with_real_member_counts(conn, tmp_path):
    p = h.plan(conn, h.project(BASE, tmp_path))
    c = changes(p)
    assert {k: v.action for k, v in c.items()} == dict.fromkeys(
        ["buyers", "repeat", "repeat_vip", "vips"], "create")
    assert {k: v.members_after for k, v in c.items()} == {
        "buyers": 8, "repeat": 3, "repeat_vip": 1, "vips": 3}
    assert all(v.entering == v.members_after and v.leaving == 0 for v in c.values())
    assert {g.id: g.action for g in p.groups} == {"lifecycle": "create", "old_group": "create"}
    assert p.evaluation_day == h.AS_OF and p.has_changes


def test_apply_then_plan_again_shows_no_changes(conn, tmp_path):
    proj = h.project(BASE, tmp_path)
    first, result = h.plan_apply(conn, proj, tmp_path)
    assert (result.created, result.entered) == (4, 8 + 3 + 1 + 3)
    for c in first.segments:
        assert len(h.members(conn, c.id)) == c.members_after
    again = h.plan(conn, proj)
    assert not again.has_changes
    assert {c.action for c in again.segments} == {"unchanged"}
    assert changes(again)["buyers"].members_after == 8


def test_changed_rule_shows_update_with_entering_leaving_and_reasons(conn, tmp_path):
    h.plan_apply(conn, h.project(BASE, tmp_path), tmp_path)
    # buyers: 2+ orders now (2 7 8 9 12 leave); vips: title changed only
    text = BASE.replace("where order_count >= 1", "where order_count >= 2").replace(
        'segment vips { where', 'segment vips { title = "VIPs" where')
    p = h.plan(conn, h.project(text, tmp_path))
    c = changes(p)
    b = c["buyers"]
    assert b.action == "update" and b.reasons == ["changed: rule"]
    assert (b.members_before, b.members_after, b.entering, b.leaving) == (8, 3, 0, 5)
    assert c["vips"].action == "update" and c["vips"].reasons == ["changed: title"]
    assert (c["vips"].entering, c["vips"].leaving) == (0, 0)
    assert c["repeat"].action == "unchanged"
    result = h.apply(conn, p, tmp_path)
    assert (result.updated, result.entered, result.left) == (2, 0, 5)
    assert h.members(conn, "buyers") == [3, 4, 5]
    events = conn.execute("SELECT customer_id FROM segflow.membership_events"
                          " WHERE NOT entered ORDER BY 1").fetchall()
    assert [e[0] for e in events] == [2, 7, 8, 9, 12]


def test_segment_referring_to_a_changed_segment_shows_depends_on(conn, tmp_path):
    h.plan_apply(conn, h.project(BASE, tmp_path), tmp_path)
    text = BASE.replace("where order_count >= 2", "where order_count >= 5")
    c = changes(h.plan(conn, h.project(text, tmp_path)))
    assert c["repeat"].action == "update"
    assert (c["repeat"].members_after, c["repeat"].leaving) == (1, 2)
    dep = c["repeat_vip"]
    assert dep.action == "update"
    assert dep.reasons == ["depends on changed repeat"]
    assert (dep.members_before, dep.members_after) == (1, 1)
    assert c["vips"].action == "unchanged" and c["buyers"].action == "unchanged"


def test_deleted_segment_is_retired_keeping_history(conn, tmp_path):
    h.plan_apply(conn, h.project(BASE, tmp_path), tmp_path)
    h.run(conn, h.AS_OF, tmp_path)
    vips_ord = h.ordinal(conn, "vips")
    text = BASE.replace('segment vips { where tags contains "vip" }', "")
    p = h.plan(conn, h.project(text, tmp_path))
    c = changes(p)["vips"]
    assert c.action == "retire"
    assert (c.members_before, c.members_after, c.leaving) == (3, 0, 3)
    result = h.apply(conn, p, tmp_path)
    assert (result.retired, result.left) == (1, 3)
    assert h.count(conn, "segflow.daily_metrics WHERE segment_id = 'vips'") == 1
    assert h.count(conn, f"segflow.customer_segments WHERE {vips_ord} = ANY(segments)") == 0
    assert conn.execute("SELECT retired_at IS NOT NULL FROM segflow.segments"
                        " WHERE segment_id = 'vips'").fetchone() == (True,)
    assert not h.plan(conn, h.project(text, tmp_path)).has_changes
    # the next run keeps it out of the snapshots
    h.run(conn, dt.date(2025, 3, 16), tmp_path)
    assert h.count(conn, "segflow.daily_metrics WHERE segment_id = 'vips'") == 1


def test_retired_group_retires_no_segment(conn, tmp_path):
    h.plan_apply(conn, h.project(BASE, tmp_path), tmp_path)
    text = BASE.replace('group old_group { title = "Old" }', "").replace(
        "groups = [lifecycle, old_group]", "groups = [lifecycle]")
    p = h.plan(conn, h.project(text, tmp_path))
    assert {g.id: g.action for g in p.group_changes} == {"old_group": "retire"}
    assert [g.segments_removed for g in p.group_changes] == [["repeat"]]
    assert changes(p)["repeat"].action == "update"  # its groups changed, not its members
    assert (changes(p)["repeat"].entering, changes(p)["repeat"].leaving) == (0, 0)
    result = h.apply(conn, p, tmp_path)
    assert result.retired == 0
    assert h.members(conn, "repeat") == [3, 4, 5]
    assert conn.execute("SELECT count(*) FROM segflow.segments WHERE retired_at IS NOT NULL"
                        ).fetchone() == (0,)
    assert conn.execute("SELECT retired_at IS NOT NULL FROM segflow.groups"
                        " WHERE group_id = 'old_group'").fetchone() == (True,)
    assert not h.plan(conn, h.project(text, tmp_path)).has_changes


def test_stale_plan_is_refused_after_another_apply(conn, tmp_path):
    proj = h.project(BASE, tmp_path)
    first = h.plan(conn, proj)
    second = h.plan(conn, proj)
    h.apply(conn, first, tmp_path)
    before = h.history_counts(conn)
    with pytest.raises(SegflowError, match="stale"):
        h.apply(conn, second, tmp_path)
    assert h.history_counts(conn) == before


def test_stale_plan_is_refused_after_a_run(conn, tmp_path):
    h.plan_apply(conn, h.project(BASE, tmp_path), tmp_path)
    p = h.plan(conn, h.project(BASE.replace(">= 1", ">= 2"), tmp_path))
    h.run(conn, h.AS_OF, tmp_path)
    with pytest.raises(SegflowError, match="stale"):
        h.apply(conn, p, tmp_path)


def test_applying_the_same_plan_twice_is_refused_as_stale(conn, tmp_path):
    p = h.plan(conn, h.project(BASE, tmp_path))
    h.apply(conn, p, tmp_path)
    with pytest.raises(SegflowError, match="stale"):
        h.apply(conn, p, tmp_path)
    assert h.count(conn, "segflow.segments") == 4


def test_tag_operations_are_counted_for_create_and_rename(conn, tmp_path):
    p = h.plan(conn, h.project(BASE, tmp_path))
    rep = changes(p)["repeat"]
    assert (rep.tag_adds, rep.tag_removes) == (3, 0)
    assert changes(p)["buyers"].tag_adds == 0
    assert p.tag_operations() == (3, 0)
    h.apply(conn, p, tmp_path)
    renamed = h.plan(conn, h.project(BASE.replace('"seg-repeat"', '"seg-repeaters"'), tmp_path))
    rep = changes(renamed)["repeat"]
    assert rep.action == "update" and rep.reasons == ["changed: tag"]
    assert (rep.old_tag, rep.tag) == ("seg-repeat", "seg-repeaters")
    assert (rep.tag_removes, rep.tag_adds) == (3, 3)
    # same tag, rule change: only those entering / leaving
    h.apply(conn, renamed, tmp_path)
    text = BASE.replace('"seg-repeat"', '"seg-repeaters"').replace(
        "where order_count >= 2", "where order_count >= 5")
    rep = changes(h.plan(conn, h.project(text, tmp_path)))["repeat"]
    assert (rep.tag_adds, rep.tag_removes) == (0, 2)


def test_static_list_is_loaded_at_apply_and_unknown_customers_reported(conn, tmp_path):
    text = 'segment picked { list = "lists/x.csv" }\n'
    csv = "customer_id,email\n2,\n,dee@example.com\n999,\n,nobody@example.com\n"
    p = h.plan(conn, h.project(text, tmp_path, {"lists/x.csv": csv}))
    result = h.apply(conn, p, tmp_path)
    [load] = result.lists
    assert load.segment_id == "picked" and load.members == 2
    assert sorted(load.unknown) == ["999", "nobody@example.com"]
    assert h.members(conn, "picked") == [2, 4]
    assert conn.execute("SELECT customer_id FROM store.list_members WHERE segment_id = 'picked'"
                        " ORDER BY 1").fetchall() == [(2,), (4,)]


def test_plan_runs_read_only_and_writes_nothing(conn, tmp_path):
    h.plan_apply(conn, h.project(BASE, tmp_path), tmp_path)
    snapshot = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("segflow.segments", "segflow.customer_segments", "segflow.state",
                          "segflow.membership_events", "segflow.runs", "store.list_members")}
    conn.execute("SET default_transaction_read_only = on")
    text = BASE.replace(">= 1", ">= 2") + "segment new_one { where order_count = 1 }\n"
    p = h.plan(conn, h.project(text, tmp_path))
    assert changes(p)["new_one"].members_after == 5
    assert changes(p)["buyers"].leaving == 5
    conn.execute("SET default_transaction_read_only = off")
    for table, rows in snapshot.items():
        assert conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() == rows, table
