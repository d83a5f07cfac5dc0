"""Shopify customer tags as a destination: the outbox and the tag diff behind the protocol."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from segflow.destinations.base import PlannedOps, Queued
from segflow.destinations.shopify import outbox, tagdiff


class ShopifyTags:
    name = "shopify"

    def queue(self, conn: Any, reason: str) -> Queued:
        return outbox.enqueue_sync(conn, reason)

    def with_plan_operations(self, query: exp.Select, changed: list[str],
                             evaluated: list[tuple[str, str | None, str]]) -> exp.Select:
        return tagdiff.with_plan_tag_ops(query, changed, evaluated)

    def read_plan_operations(self, value: Any) -> dict[str, PlannedOps]:
        ops, unlinked = tagdiff.counts_by_segment(value), tagdiff.unlinked_by_segment(value)
        return {s: PlannedOps(*ops.get(s, (0, 0)), unlinked.get(s, 0))
                for s in {*ops, *unlinked}}
