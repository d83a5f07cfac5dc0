"""Pacing against Shopify's cost-based leaky bucket, and backoff for transient failures.

Shopify reports the bucket after every request (`extensions.cost.throttleStatus`:
maximumAvailable, currentlyAvailable, restoreRate). The client keeps a local copy that refills
at restoreRate and waits until a request's estimated cost fits before sending it, so in the
steady state it is never throttled and spends exactly what the bucket restores.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CostBucket:
    """The client's view of the server's bucket (unknown until the first answer)."""

    clock: Callable[[], float] = time.monotonic
    maximum: float | None = None
    available: float | None = None
    restore_rate: float | None = None
    observed_at: float = 0.0
    cost_per_mutation: float = 10.0  # until a response tells us (requestedQueryCost / n)

    def observe(self, status: dict, received_at: float) -> None:
        """Take the server's figures as of when the answer arrived.

        The server measured them a little earlier, so the local copy errs on the low side
        (by restoreRate x latency): the client may wait a few ms too long, never too little.
        """
        try:
            self.maximum = float(status["maximumAvailable"])
            self.available = float(status["currentlyAvailable"])
            self.restore_rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        self.observed_at = received_at

    def learn_cost(self, requested: float | None, mutations: int) -> None:
        if requested and mutations:
            self.cost_per_mutation = float(requested) / mutations

    def now_available(self) -> float | None:
        if self.available is None or not self.restore_rate:
            return None
        refilled = self.available + self.restore_rate * (self.clock() - self.observed_at)
        return min(self.maximum or refilled, refilled)

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` points are available (0 when they are, or when unknown)."""
        available = self.now_available()
        if available is None or available >= cost:
            return 0.0
        assert self.restore_rate
        return (cost - available) / self.restore_rate

    def spend(self, cost: float) -> None:
        """Debit locally right away, so a burst of sends does not over-draw the bucket."""
        available = self.now_available()
        if available is not None:
            self.available = available - cost
            self.observed_at = self.clock()


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2^n))."""

    base: float = 0.5
    cap: float = 30.0
    rng: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        return self.rng() * min(self.cap, self.base * (2 ** attempt))


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """The Retry-After header as seconds (Shopify sends a number; dates are not used)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default
