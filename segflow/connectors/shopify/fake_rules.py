"""The parts of the fake Admin API that mirror Shopify's rules around a request: versions that
fall forward, tokens from the client-credentials grant that expire, the granted scopes, the
whole-request refusal of a malformed variable, and (with a published schema) the validation of
every document. Wording is Shopify's where docs/shopify.md cites it, else this fake's."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Stable versions Shopify supports on 2026-12-07 (each ~12 months from its release)
SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")
ALL_SCOPES = ("read_customers", "write_customers", "read_orders", "read_all_orders")
ORDER_WINDOW_DAYS = 60  # without read_all_orders, only this many days of orders are visible
_GID = re.compile(r"gid://shopify/[A-Za-z]+/[1-9]\d{0,18}")
_ID_VARIABLE = re.compile(r"\$(\w+)\s*:\s*ID!")


def served_version(asked: str, supported: tuple[str, ...] = SUPPORTED_VERSIONS) -> str:
    """The version Shopify answers with: a retired one falls forward to the oldest supported."""
    if asked == "unstable" or asked in supported:
        return asked
    if re.fullmatch(r"\d{4}-\d{2}", asked) and asked > supported[-1]:
        return asked  # a release candidate: served as asked
    return supported[0]


@dataclass
class Tokens:
    """Access tokens the fake accepts: the static one, and granted ones until they expire."""

    static: str | None
    client_id: str | None = None
    client_secret: str | None = None
    lifetime: float = 86_399.0
    clock: Callable[[], float] = time.monotonic
    granted: dict[str, float] = field(default_factory=dict)  # token -> expires at
    grants: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        if self.static is not None and token == self.static:
            return True
        with self.lock:
            expires = self.granted.get(token)
        return expires is not None and self.clock() < expires

    def grant(self, form: dict[str, str]) -> tuple[int, dict]:
        """POST /admin/oauth/access_token with grant_type=client_credentials."""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (not self.client_id or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret):
            return 400, {"error": "invalid_client",
                         "error_description": "Client authentication failed"}
        token = "shpat_" + secrets.token_hex(16)
        with self.lock:
            self.granted[token] = self.clock() + self.lifetime
            self.grants += 1
        return 200, {"access_token": token, "scope": ",".join(ALL_SCOPES),
                     "expires_in": int(self.lifetime)}

    def expire_all(self) -> None:
        with self.lock:
            self.granted = dict.fromkeys(self.granted, 0.0)


def malformed_ids(query: str, variables: dict) -> list[dict]:
    """Errors for ID! variables that are not global ids: Shopify refuses the whole request."""
    errors = []
    for name in _ID_VARIABLE.findall(query):
        value = variables.get(name)
        if isinstance(value, str) and _GID.fullmatch(value):
            continue
        errors.append({"message": f"Variable ${name} of type ID! was provided invalid value",
                       "locations": [{"line": 1, "column": 1}],
                       "extensions": {"value": value, "problems": [
                           {"path": [], "explanation": f"Invalid global id `{value}`",
                            "message": f"Invalid global id `{value}`"}]}})
    return errors


def visible_orders(orders: list[dict], scopes: tuple[str, ...],
                   today: dt.date | None) -> list[dict]:
    """Without read_all_orders, only orders created in the last 60 days are visible."""
    if "read_all_orders" in scopes:
        return orders
    now = dt.datetime.combine(today, dt.time(23, 59, 59), dt.UTC) if today else dt.datetime.now(
        dt.UTC)
    since = (now - dt.timedelta(days=ORDER_WINDOW_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [o for o in orders if str(o.get("createdAt") or "") >= since]


def schema_errors(schema, query: str) -> list[dict]:
    """A document checked against a published Admin schema (graphql-core), as Shopify's errors:
    an unknown field is `Field 'x' doesn't exist on type 'Y'` (extensions.code undefinedField)."""
    if schema is None:
        return []
    from graphql import parse, validate
    from graphql.error import GraphQLSyntaxError

    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return [{"message": f"syntax error: {exc.message}", "extensions": {"code": "parseError"}}]
    out = []
    for error in validate(schema, document):
        m = re.match(r"Cannot query field '(\w+)' on type '(\w+)'", error.message)
        entry: dict = {"message": error.message,
                       "locations": [{"line": loc.line, "column": loc.column}
                                     for loc in error.locations or []]}
        if m:
            entry["message"] = f"Field '{m[1]}' doesn't exist on type '{m[2]}'"
            entry["extensions"] = {"code": "undefinedField", "typeName": m[2],
                                   "fieldName": m[1]}
        out.append(entry)
    return out
