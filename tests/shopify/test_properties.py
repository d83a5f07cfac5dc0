"""For any merchant tags and any sequence of segment tag definitions, after each apply + sync
Shopify holds exactly the merchant's tags plus the tags of the segments each customer is in;
a merchant's tag is never removed nor rewritten. Checked against a plain-Python model."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.destinations.shopify.sync import sync
from tests.runtime import helpers as h
from tests.shopify.conftest import make_client

CUSTOMERS = list(range(1, 15))
MERCHANT_TAGS = ["seg-a", "SEG-A", "seg-b", "other"]
RULES = {"s1": "order_count >= 1", "s2": "order_count >= 2", "s3": 'tags contains "vip"'}
TAG_CHOICES = st.sampled_from([None, "seg-a", "seg-b", "Seg-B"])

RESET = """
TRUNCATE segflow.segment_versions, segflow.group_segments, segflow.groups, segflow.segments,
         segflow.customer_segments, segflow.membership_events, segflow.daily_metrics,
         segflow.daily_activity, segflow.runs, segflow.tag_outbox, segflow.tag_actions,
         segflow.applied_tags;
UPDATE segflow.state SET last_run_day = NULL, revision = 0;
"""


def _text(tags: dict[str, str | None]) -> str:
    return "\n".join(
        f"segment {sid} {{ {f'tag = {tag!r}'.replace(chr(39), chr(34)) if tag else ''}"
        f" where {rule} }}" for sid, rule in RULES.items() for tag in [tags[sid]])


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(merchant=st.fixed_dictionaries({c: st.lists(st.sampled_from(MERCHANT_TAGS), unique=True,
                                                  max_size=2) for c in CUSTOMERS}),
       steps=st.lists(st.fixed_dictionaries({s: TAG_CHOICES for s in RULES}), min_size=1,
                      max_size=3))
def test_shopify_ends_with_merchant_tags_plus_segment_tags(conn, fake, tmp_path, merchant,
                                                          steps):
    conn.execute(RESET)
    original = dict(conn.execute("SELECT customer_id, tags FROM store.customers").fetchall())
    for cid in CUSTOMERS:
        tags = [t for t in original[cid] if t == "vip"] + merchant[cid]
        conn.execute("UPDATE store.customers SET tags = %s WHERE customer_id = %s", (tags, cid))
        fake.customers[cid] = list(tags)
    start = {cid: list(tags) for cid, tags in fake.customers.items()}
    for step in steps:
        h.plan_apply(conn, h.project(_text(step), tmp_path), tmp_path)
        with make_client(fake) as client:
            assert sync(conn, client).failed == 0
        members = {sid: set(h.members(conn, sid)) for sid in RULES}
        for cid in CUSTOMERS:
            own = start[cid]
            got = fake.customers[cid]
            assert got[:len(own)] == own  # the merchant's tags, untouched, in place
            wanted = {t.lower() for t in own} | {
                step[sid].lower() for sid in RULES if step[sid] and cid in members[sid]}
            assert {t.lower() for t in got} == wanted, (step, cid, got)
            extra = [t.lower() for t in got[len(own):]]
            assert len(set(extra)) == len(extra)  # nothing added twice
            assert not set(extra) & {t.lower() for t in own}  # nor what the merchant has
