"""Destinations: where memberships are sent (customer tags in Shopify first).

`enabled()` is the one place the core learns which destinations exist; each is a folder here
implementing `base.Destination`.
"""

from __future__ import annotations

from typing import Any

from segflow.destinations.base import NOTHING, Destination, Queued


def enabled() -> tuple[Destination, ...]:
    from segflow.destinations.shopify.tags import ShopifyTags

    return (ShopifyTags(),)


def queue_all(conn: Any, reason: str) -> Queued:
    """Queue every destination's operations, in the caller's transaction."""
    total = NOTHING
    for destination in enabled():
        total = total + destination.queue(conn, reason)
    return total
