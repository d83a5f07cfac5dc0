"""What tag sync means: merchants' tags are never touched, renames are removes + adds, one-off
assignments stay when members leave; checked against the fake after every run."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg

from segflow.cli.render_plan import as_text
from segflow.destinations.shopify import actions
from segflow.destinations.shopify.sync import sync
from tests.compiler import store_data
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client, store_tags

MERCHANT = {cid: tags for cid, _, _, tags, *_ in store_data.CUSTOMERS}  # 1, 4: vip


def _order(conn: psycopg.Connection, order_id: int, customer: int, day: dt.date) -> None:
    placed = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(h.TZ))
    conn.execute("INSERT INTO store.orders (order_id, customer_id, placed_at, total_price)"
                 " VALUES (%s, %s, %s, 20)", (order_id, customer, placed))
    conn.execute(
        "UPDATE store.orders AS o SET customer_order_index = r.n FROM ("
        " SELECT order_id, row_number() OVER (PARTITION BY customer_id ORDER BY placed_at,"
        " order_id) AS n FROM store.orders WHERE customer_id IS NOT NULL AND NOT is_test"
        " AND cancelled_at IS NULL) AS r WHERE r.order_id = o.order_id")


def _sync(conn, fake) -> None:
    with make_client(fake) as client:
        result = sync(conn, client)
    assert result.failed == 0 and result.remaining == 0


def test_merchant_tags_survive_days_of_runs_with_membership_changes(conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    h.plan_apply(conn, h.project('segment recent { tag = "vip" where days_since_last_order <= 20 }',
                                 tmp_path), tmp_path)
    _sync(conn, fake)
    orders = {3: 1, 1: 6, 4: 12, 9: 18, 2: 24}  # a new order for customer c on day +d
    seen_members: set[int] = set()
    for offset in range(0, 36, 3):
        day = h.AS_OF + dt.timedelta(days=offset)
        for cid, d in orders.items():
            if offset - 3 < d <= offset:
                _order(conn, 900_000 + cid, cid, day)
        h.run(conn, day, tmp_path)
        _sync(conn, fake)
        members = set(h.members(conn, "recent"))
        seen_members |= members
        for cid, tags in fake.customers.items():
            merchant = MERCHANT.get(cid, [])
            assert tags[:len(merchant)] == merchant, (day, cid, tags)  # untouched, in order
            has_vip = any(t.lower() == "vip" for t in tags)
            assert has_vip == (cid in members or "vip" in merchant), (day, cid, tags)
            extra = [t for t in tags if t not in merchant]
            assert extra == (["vip"] if cid in members and "vip" not in merchant else [])
        ours = {c for (c,) in conn.execute("SELECT customer_id FROM segflow.applied_tags")}
        assert ours == members - {1, 4}
    assert {1, 4} <= seen_members  # the merchant's vips were members at some point
    assert len(seen_members) >= 4


def test_renamed_tag_shows_as_removes_and_adds_in_the_plan_and_sync_follows(conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    rule = 'segment repeat {{ tag = "{}" where order_count >= 2 }}'
    h.plan_apply(conn, h.project(rule.format("seg-repeat"), tmp_path), tmp_path)
    _sync(conn, fake)
    members = h.members(conn, "repeat")
    plan = h.plan(conn, h.project(rule.format("seg-loyal"), tmp_path))
    change = next(c for c in plan.segments if c.id == "repeat")
    assert (change.tag_adds, change.tag_removes) == (len(members), len(members))
    assert plan.tag_operations() == (len(members), len(members))
    text = as_text(plan)
    assert f"tag 'seg-loyal' +{len(members)}, tag 'seg-repeat' -{len(members)}" in text
    h.apply(conn, plan, tmp_path)
    queued = conn.execute("SELECT op, count(*) FROM segflow.tag_outbox WHERE status = 'pending'"
                          " GROUP BY op ORDER BY op").fetchall()
    assert queued == [("add", len(members)), ("remove", len(members))]  # what the plan showed
    _sync(conn, fake)
    assert sorted(c for c, t in fake.customers.items() if "seg-loyal" in t) == members
    assert not any("seg-repeat" in t for t in fake.customers.values())


def test_plan_does_not_count_customers_who_already_carry_the_tag_as_their_own(conn, tmp_path):
    plan = h.plan(conn, h.project('segment vips { tag = "VIP" where tags contains "vip" }',
                                  tmp_path))
    change = plan.segments[0]
    assert change.members_after == 3 and change.tag_adds == 1  # 1 and 4 have "vip" already


def test_assigned_tag_stays_when_members_leave_and_remove_takes_only_ours(conn, fake, tmp_path):
    fake.customers.update(store_tags(conn))
    fake.customers[9].append("promo")  # the merchant's own, same name
    conn.execute("UPDATE store.customers SET tags = tags || '{promo}' WHERE customer_id = 9")
    h.plan_apply(conn, h.project('segment recent { where days_since_last_order <= 20 }',
                                 tmp_path), tmp_path)
    h.run(conn, h.AS_OF, tmp_path)
    members = h.members(conn, "recent")
    result = actions.assign(conn, "recent", "promo")
    assert result.targeted == len(members)
    _sync(conn, fake)
    tagged = {c for c, t in fake.customers.items() if "promo" in t}
    assert tagged == set(members) | {9}
    h.run(conn, h.AS_OF + dt.timedelta(days=60), tmp_path)  # everyone leaves
    _sync(conn, fake)
    assert h.members(conn, "recent") == []
    assert {c for c, t in fake.customers.items() if "promo" in t} == tagged
    actions.remove(conn, "promo")
    _sync(conn, fake)
    assert {c for c, t in fake.customers.items() if "promo" in t} == {9}
    rows = actions.history(conn)
    assert [(r["kind"], r["tag"], r["status"]) for r in rows] == [
        ("remove", "promo", "done"), ("assign", "promo", "done")]
    assert rows[1]["customers"] == len(members)


def test_changing_only_the_case_of_a_tag_changes_nothing_in_shopify(conn, fake, tmp_path):
    # Shopify's tags are case-insensitive: a remove of "seg-b" after an add of "Seg-B" would
    # leave the customer without the tag
    fake.customers.update(store_tags(conn))
    rule = 'segment repeat {{ tag = "{}" where order_count >= 2 }}'
    h.plan_apply(conn, h.project(rule.format("seg-b"), tmp_path), tmp_path)
    _sync(conn, fake)
    plan = h.plan(conn, h.project(rule.format("Seg-B"), tmp_path))
    assert plan.tag_operations() == (0, 0)
    h.apply(conn, plan, tmp_path)
    _sync(conn, fake)
    members = h.members(conn, "repeat")
    assert sorted(c for c, t in fake.customers.items() if "seg-b" in t) == members
