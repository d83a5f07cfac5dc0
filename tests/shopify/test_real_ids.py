"""Tag sync never sends a made-up customer id (issue 14.3): members known only by an id segflow
derived are counted and reported, never queued; one malformed operation fails alone."""

from __future__ import annotations

from segflow.connectors.shopify.client import TagCall
from segflow.destinations.shopify import actions, outbox
from segflow.destinations.shopify.sync import sync
from segflow.sources.shopify_csv.parsing import derived_id
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client, store_tags

RULE = 'segment club { tag = "seg-club" where tags contains "club" }'
DERIVED = derived_id("email", "no-id@example.com")  # as the CSV import makes for such customers


def _club(conn) -> None:
    conn.execute("INSERT INTO store.customers (customer_id, email, tags) VALUES"
                 " (%s, 'no-id@example.com', ARRAY['club']), (501, 'a@example.com', ARRAY['club']),"
                 " (502, 'b@example.com', ARRAY['club'])", (DERIVED,))


def test_members_without_a_shopify_id_are_counted_in_plan_sync_and_dashboard_never_queued(
        conn, fake, tmp_path):
    assert DERIVED < 0
    _club(conn)
    fake.customers.update(store_tags(conn))
    the_plan = h.plan(conn, h.project(RULE, tmp_path))
    (change,) = the_plan.segments
    assert (change.tag_adds, change.tag_unlinked) == (2, 1)
    h.apply(conn, the_plan, tmp_path)
    assert DERIVED in h.members(conn, "club")
    queued = conn.execute("SELECT customer_id FROM segflow.tag_outbox ORDER BY 1").fetchall()
    assert queued == [(501,), (502,)]
    assert outbox.unlinked_members(conn) == 1
    with make_client(fake) as client:
        result = sync(conn, client)
    assert (result.done, result.failed) == (2, 0)
    assert fake.stats.get("refused", 0) == 0
    state = outbox.segment_tag_sync(conn, "club")
    assert (state.carriers, state.unlinked) == (2, 1)
    from segflow.web.tag_sync import tag_sync
    from segflow.web.view import View

    meta = " ".join(tag_sync(conn, "club", View(shop="s.myshopify.com"))["meta"])
    assert "1 member has no Shopify customer id" in meta
    # a one-off action says so too, and queues nothing for it
    assigned = actions.assign(conn, "club", "promo")
    assert (assigned.targeted, assigned.queued.adds, assigned.unlinked) == (3, 2, 1)
    assert conn.execute("SELECT count(*) FROM segflow.tag_outbox WHERE customer_id < 0"
                        ).fetchone() == (0,)


def test_a_derived_id_queued_by_an_older_version_fails_locally_and_the_rest_is_sent(
        conn, fake, tmp_path):
    _club(conn)
    fake.customers.update(store_tags(conn))
    conn.execute("INSERT INTO segflow.tag_outbox (customer_id, tag, op, reason) VALUES"
                 " (%s, 'old', 'add', 'test'), (501, 'old', 'add', 'test'),"
                 " (502, 'old', 'add', 'test')", (DERIVED,))
    with make_client(fake) as client:
        result = sync(conn, client)
    assert (result.done, result.failed) == (2, 1)
    assert result.failures[0]["customer_id"] == DERIVED
    assert "no Shopify customer id" in result.failures[0]["error"]
    assert fake.stats.get("refused", 0) == 0  # never sent
    assert "old" in fake.customers[501] and "old" in fake.customers[502]


def test_shopify_refuses_a_whole_request_for_one_malformed_id_and_only_that_call_fails(fake):
    fake.customers.update({i: [] for i in range(1, 8)})
    calls = [TagCall(i, "add", ("t",)) for i in (1, 2, 3)] + [TagCall(-5, "add", ("t",))] + [
        TagCall(i, "add", ("t",)) for i in (4, 5, 6, 7)]
    with make_client(fake) as client:
        results = client.tag_calls(calls)
    errors = [r.error for r in results]
    assert errors[:3] == [None] * 3 and errors[4:] == [None] * 4
    assert "Variable $id3 of type ID! was provided invalid value" in errors[3]
    assert "Invalid global id `gid://shopify/Customer/-5`" in errors[3]
    assert fake.stats["refused"] == 1  # the whole first request, as Shopify does
    assert all(fake.customers[i] == ["t"] for i in range(1, 8))


def test_a_refusal_that_names_no_variable_is_split_until_the_bad_call_is_alone(fake):
    import httpx

    from segflow.connectors.shopify.client import AdminClient

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read().decode()
        if "Customer/13" in body:  # refused as a whole, with no variable named
            return httpx.Response(200, json={"errors": [{"message": "Internal error"}]})
        import json

        n = len(json.loads(body)["variables"]) // 2
        return httpx.Response(200, json={"data": {f"m{i}": {"userErrors": []}
                                                  for i in range(n)}})

    with AdminClient("https://x.myshopify.com/admin/api/2026-10/graphql.json", "tok",
                     transport=httpx.MockTransport(handler), sleep=lambda s: None) as client:
        results = client.tag_calls([TagCall(i, "add", ("t",)) for i in range(10, 18)])
    assert [r.error is None for r in results] == [True] * 3 + [False] + [True] * 4
    assert "Internal error" in results[3].error
