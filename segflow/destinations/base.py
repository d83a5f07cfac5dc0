"""What the core knows of a destination: it queues, and it says what a plan would queue.

The lifecycle (apply, run, rewind, plan) talks to destinations only through this protocol, so
a second destination (Klaviyo lists, say) is a folder beside `shopify/` plus one line in
`segflow/destinations/__init__.py`, and nothing in the core names Shopify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlglot import exp


@dataclass(frozen=True)
class Queued:
    """Operations queued by one call: added, removed, and pending ones cancelled instead."""

    adds: int
    removes: int
    cancelled: int

    def __add__(self, other: Queued) -> Queued:
        return Queued(self.adds + other.adds, self.removes + other.removes,
                      self.cancelled + other.cancelled)


NOTHING = Queued(0, 0, 0)


@dataclass(frozen=True)
class PlannedOps:
    """What a plan says one segment's change sends: adds, removes, members it cannot reach."""

    adds: int = 0
    removes: int = 0
    unreachable: int = 0


class Destination(Protocol):
    name: str

    def queue(self, conn: Any, reason: str) -> Queued:
        """Queue what brings the destination to the recorded memberships.

        Called inside the transaction that records the memberships, so both are committed
        together or not at all (docs/shopify.md, "Nothing lost").
        """

    def with_plan_operations(self, query: exp.Select, changed: list[str],
                             evaluated: list[tuple[str, str | None, str]]) -> exp.Select:
        """Add one output column to a plan's counting query: the operations it would queue."""

    def read_plan_operations(self, value: Any) -> dict[str, PlannedOps]:
        """{segment id: planned operations} from the column `with_plan_operations` added."""
