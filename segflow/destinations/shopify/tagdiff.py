"""The tag diff: desired customer tags against the tags segflow recorded as its own.

One SQL shape, used twice: `seg plan` counts it (over the plan's desired memberships, read
only) and the daily run / apply turn it into outbox operations (over the recorded
memberships). So the tag operations a plan shows are the ones apply queues.

Tags compare case-insensitively throughout, as Shopify's do: "VIP" and "vip" are one tag, so
changing only the case of a segment's tag changes nothing in Shopify.

Rules, all in the SQL below:
- desired: (customer, tag) for every applied segment with a `tag` the customer is in;
- add when desired, not recorded as ours, and the customer does not already carry the tag as
  a merchant's own (compared case-insensitively, as Shopify does) — unless a remove of ours
  is still waiting, in which case the tag is ours and the remove is simply cancelled;
- never re-add on its own a tag whose add Shopify refused (a failed operation waits for
  `seg sync --retry-failed`);
- remove when recorded as ours by the sync (not by a one-off action) and no longer desired;
- never for a customer without a real Shopify id: ids segflow derived for customers an import
  gave none (`derived_id`, negative) are counted as "unlinked" and never queued, since
  Shopify would refuse them (and refuse the whole request they are in).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

# (customer_id, tag, segment_id) from the recorded memberships of the applied segments
DESIRED_RECORDED = """
SELECT cs.customer_id, s.tag, s.segment_id
FROM segflow.customer_segments AS cs
CROSS JOIN LATERAL unnest(cs.segments) AS x(ordinal)
JOIN segflow.segments AS s ON s.ordinal = x.ordinal
WHERE s.tag IS NOT NULL AND s.retired_at IS NULL
"""

_ADDS = """
SELECT d.customer_id, min(d.tag) AS tag, 'add' AS op, min(d.segment_id) AS segment_id
FROM {desired} AS d
JOIN store.customers AS c ON c.customer_id = d.customer_id
WHERE d.customer_id > 0
  AND NOT EXISTS (SELECT 1 FROM segflow.applied_tags AS a
                  WHERE a.customer_id = d.customer_id AND lower(a.tag) = lower(d.tag))
  AND (NOT lower(d.tag) = ANY (SELECT lower(t) FROM unnest(c.tags) AS t)
       OR EXISTS (SELECT 1 FROM segflow.tag_outbox AS p
                  WHERE p.customer_id = d.customer_id AND lower(p.tag) = lower(d.tag)
                    AND p.status = 'pending' AND p.op = 'remove'))
  AND NOT EXISTS (SELECT 1 FROM segflow.tag_outbox AS f
                  WHERE f.customer_id = d.customer_id AND lower(f.tag) = lower(d.tag)
                    AND f.status = 'failed' AND f.op = 'add')
GROUP BY d.customer_id, lower(d.tag)
"""

_REMOVES = """
SELECT a.customer_id, a.tag, 'remove' AS op, a.segment_id
FROM segflow.applied_tags AS a
WHERE a.action_id IS NULL AND a.customer_id > 0
  AND NOT EXISTS (SELECT 1 FROM {desired} AS d
                  WHERE d.customer_id = a.customer_id AND lower(d.tag) = lower(a.tag))
"""


# desired (customer, tag) pairs that cannot be sent: the customer has no real Shopify id
_UNLINKED = """
SELECT d.customer_id, min(d.tag) AS tag, 'unlinked' AS op, min(d.segment_id) AS segment_id
FROM {desired} AS d
WHERE d.customer_id <= 0
GROUP BY d.customer_id, lower(d.tag)
"""


def unlinked_sql(desired: str) -> str:
    """Members a tag would go to who have no real Shopify customer id (counted, never sent)."""
    return _UNLINKED.format(desired=desired)


def adds_sql(desired: str) -> str:
    """Only the additions of the diff (one-off assignments use them on their own)."""
    return _ADDS.format(desired=desired)


def diff_sql(desired: str) -> str:
    """The diff select over a relation `desired(customer_id, tag, segment_id)` (a name)."""
    return adds_sql(desired) + "UNION ALL" + _REMOVES.format(desired=desired)


def with_plan_tag_ops(query: exp.Select, changed: list[str],
                      evaluated: list[tuple[str, str | None, str]]) -> exp.Select:
    """Add the tag diff of a plan to its counting query, as one more output column.

    `query` has a CTE `desired` with one boolean column per evaluated segment; `changed` are
    the segments whose recorded memberships no longer count (created, changed, retired);
    `evaluated` lists (segment id, its new tag, its column in `desired`). The column added is
    a JSON array of [tag, op, segment_id, count].
    """
    recorded = sqlglot.parse_one(DESIRED_RECORDED, read="postgres")
    assert isinstance(recorded, exp.Select)
    if changed:
        recorded = recorded.where(exp.not_(exp.column("segment_id", "s").isin(
            *(exp.Literal.string(s) for s in changed))))
    parts: list[exp.Select] = [recorded]
    for segment_id, tag, column in evaluated:
        if tag:
            parts.append(exp.select(
                exp.column("customer_id", "d"), exp.alias_(exp.Literal.string(tag), "tag"),
                exp.alias_(exp.Literal.string(segment_id), "segment_id"),
            ).from_(exp.to_table("desired").as_("d")).where(exp.column(column, "d")))
    union: exp.Query = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    summary = sqlglot.parse_one(
        "SELECT coalesce(json_agg(json_build_array(t.tag, t.op, t.segment_id, t.n)), '[]')"
        " FROM (SELECT tag, op, segment_id, count(*) AS n FROM tag_ops"
        " GROUP BY tag, op, segment_id) AS t", read="postgres")
    ops = diff_sql("tag_desired") + "UNION ALL" + unlinked_sql("tag_desired")
    return (query.with_("tag_desired", as_=union)
            .with_("tag_ops", as_=sqlglot.parse_one(ops, read="postgres"))
            .select(exp.alias_(exp.Subquery(this=summary), "tag_ops")))


def counts_by_segment(rows: list) -> dict[str, tuple[int, int]]:
    """{segment id: (adds, removes)} from the plan's tag_ops column."""
    out: dict[str, list[int]] = {}
    for _tag, op, segment_id, n in rows or []:
        if op in ("add", "remove"):
            pair = out.setdefault(segment_id, [0, 0])
            pair[0 if op == "add" else 1] += int(n)
    return {k: (v[0], v[1]) for k, v in out.items()}


def unlinked_by_segment(rows: list) -> dict[str, int]:
    """{segment id: members its tag cannot go to (no Shopify id)} from the tag_ops column."""
    out: dict[str, int] = {}
    for _tag, op, segment_id, n in rows or []:
        if op == "unlinked":
            out[segment_id] = out.get(segment_id, 0) + int(n)
    return out
