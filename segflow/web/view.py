"""What a page is produced for: the request's parameters, live or static, and the page outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from segflow.errors import SegflowError


@dataclass(frozen=True)
class View:
    """How a page is being produced: live (query parameters honoured) or for the static site."""

    params: Mapping[str, str] = field(default_factory=dict)
    static: bool = False
    members: bool = True           # `seg report --no-members` leaves customer details out
    plan_path: Path | None = None  # the saved plan shown on plan.html, when one exists
    timezone: str = "UTC"          # the store's ([store] timezone): the analytics' order days
    features: bool = True          # `seg report --no-features` leaves the features out
    shop: str | None = None        # the shop's domain from [shopify] (nothing else of it)
    # `seg report`: every segment's features, computed in one pass (segment id -> report)
    features_of: Mapping[str, object] | None = None

    def param(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)


@dataclass(frozen=True)
class Page:
    """A rendered page's template, its context, and how deep it sits (for relative links)."""

    template: str
    context: dict
    depth: int = 0
    status: int = 200


class NotFound(SegflowError):
    """No such page (an unknown segment or group, or no saved plan)."""


class BadRequest(SegflowError):
    """A parameter the page cannot honour (unknown sort column or group, a bad period)."""
