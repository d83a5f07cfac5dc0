"""A small Admin GraphQL client for tag operations (httpx), paced and retrying.

Several `tagsAdd` / `tagsRemove` calls go in one document under aliases (top-level mutation
fields run one after another, in order). Before a request is sent the client waits until the
bucket holds its estimated cost; THROTTLED answers, HTTP 429 (Retry-After), 5xx, timeouts and
dropped connections are retried with backoff. The access token is only ever put in the request
header: it is not in the client's repr, nor in any error this module raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from segflow.errors import SegflowError
from segflow.runtime.shopify.throttle import Backoff, CostBucket, retry_after_seconds

MUTATIONS = {"add": "tagsAdd", "remove": "tagsRemove"}
THROTTLE_RETRIES = 100  # THROTTLED answers tolerated for one request (each waits for the bucket)


class Secret:
    """A value that never prints: repr / str show `***` (debuggers, locals in tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class ShopifyError(SegflowError):
    """Shopify could not be reached or refused the request as a whole (nothing recorded)."""


@dataclass(frozen=True)
class TagCall:
    """One mutation: these tags added to / removed from one customer."""

    customer_id: int
    op: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class CallResult:
    error: str | None  # None: done; else Shopify's userErrors (or field error), joined


def customer_gid(customer_id: int) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def build_document(calls: Sequence[TagCall]) -> tuple[str, dict]:
    """The mutation document with one aliased field per call, and its variables."""
    params, fields, variables = [], [], {}
    for i, call in enumerate(calls):
        params.append(f"$id{i}: ID!, $tags{i}: [String!]!")
        fields.append(f"  m{i}: {MUTATIONS[call.op]}(id: $id{i}, tags: $tags{i}) "
                      "{ userErrors { field message } }")
        variables[f"id{i}"] = customer_gid(call.customer_id)
        variables[f"tags{i}"] = list(call.tags)
    document = f"mutation SegflowTags({', '.join(params)}) {{\n" + "\n".join(fields) + "\n}"
    return document, variables


class AdminClient:
    """POSTs GraphQL documents to one shop's Admin API."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, max_attempts: int = 8,
                 backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None):
        self.url = url
        self.__token = Secret(token)
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.bucket = CostBucket()
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.waited = 0.0
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"AdminClient(url={self.url!r})"

    __str__ = __repr__

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        token = self.__token.reveal()
        return text.replace(token, "***") if token else text

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)

    def tag_calls(self, calls: Sequence[TagCall]) -> list[CallResult]:
        """Send the calls in one request; one result per call, in order."""
        document, variables = build_document(calls)
        body = self.execute(document, variables, mutations=len(calls))
        data = body.get("data") or {}
        field_errors = {str(e.get("path", [None])[0]): e.get("message", "error")
                        for e in body.get("errors") or [] if e.get("path")}
        out = []
        for i in range(len(calls)):
            payload = data.get(f"m{i}")
            if payload is None:
                out.append(CallResult(self._scrub(field_errors.get(f"m{i}", "no result"))))
                continue
            errors = payload.get("userErrors") or []
            out.append(CallResult(self._scrub("; ".join(
                str(e.get("message", "error")) for e in errors)) if errors else None))
        return out

    def execute(self, document: str, variables: dict, *, mutations: int = 1) -> dict:
        """POST one GraphQL document; retries until an answer that is not a transient error."""
        attempt = 0
        throttles = 0
        while True:
            cost = self.bucket.cost_per_mutation * mutations
            self._pause(self.bucket.wait_for(cost))
            self.bucket.spend(cost)
            self.requests += 1
            try:
                response = self._http.post(
                    self.url, json={"query": document, "variables": variables},
                    headers={"X-Shopify-Access-Token": self.__token.reveal(),
                             "Content-Type": "application/json"})
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                attempt = self._transient(attempt, f"{type(exc).__name__} from Shopify")
                continue
            if response.status_code == 429:
                attempt = self._transient(attempt, "HTTP 429 from Shopify",
                                          retry_after_seconds(response.headers.get("Retry-After")))
                continue
            if response.status_code >= 500:
                attempt = self._transient(attempt, f"HTTP {response.status_code} from Shopify")
                continue
            if response.status_code in (401, 403):
                raise ShopifyError(f"Shopify refused the access token (HTTP {response.status_code}"
                                   f") for {self.url}: check the token and its access scopes "
                                   "(write_customers)")
            if response.status_code >= 400:
                raise ShopifyError(f"Shopify answered HTTP {response.status_code} for {self.url}: "
                                   f"{self._scrub(response.text[:300])}")
            try:
                body = response.json()
            except ValueError:
                attempt = self._transient(attempt, "an answer from Shopify that is not JSON")
                continue
            cost_info = (body.get("extensions") or {}).get("cost") or {}
            if cost_info.get("throttleStatus"):
                self.bucket.observe(cost_info["throttleStatus"], self.bucket.clock())
            codes = {((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []}
            if "THROTTLED" in codes:
                self.throttled += 1
                throttles += 1
                if throttles > THROTTLE_RETRIES:
                    raise ShopifyError("Shopify kept throttling the requests; try again later")
                self.bucket.learn_cost(cost_info.get("requestedQueryCost"), mutations)
                wait = self.bucket.wait_for(self.bucket.cost_per_mutation * mutations)
                self._pause(max(wait, 0.05) + self.backoff.delay(0) / 10)
                continue
            self.bucket.learn_cost(cost_info.get("requestedQueryCost"), mutations)
            if body.get("errors") and not body.get("data"):
                first = body["errors"][0]
                raise ShopifyError("Shopify refused the request: " + self._scrub(
                    str(first.get("message", first) if isinstance(first, dict) else first)))
            return body

    def upload(self, url: str, fields: dict[str, str], filename: str, content: bytes) -> None:
        """POST a file to a staged upload target (a storage bucket: no Shopify token)."""
        for attempt in range(self.max_attempts):
            try:
                response = self._http.post(url, data=fields,
                                           files={"file": (filename, content, "text/jsonl")})
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                self._pause(self.backoff.delay(attempt + 1))
                continue
            if response.status_code < 300:
                return
            if response.status_code < 500:
                raise ShopifyError(f"the staged upload was refused (HTTP {response.status_code})")
            self._pause(self.backoff.delay(attempt + 1))
        raise ShopifyError(f"the staged upload failed {self.max_attempts} times in a row")

    def download(self, url: str) -> bytes:
        """GET a bulk operation's result file (a signed URL: no Shopify token)."""
        for attempt in range(self.max_attempts):
            try:
                response = self._http.get(url)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                self._pause(self.backoff.delay(attempt + 1))
                continue
            if response.status_code == 200:
                return response.content
            if response.status_code < 500:
                raise ShopifyError(f"the bulk result file was refused (HTTP "
                                   f"{response.status_code})")
            self._pause(self.backoff.delay(attempt + 1))
        raise ShopifyError(f"downloading the bulk result failed {self.max_attempts} times")

    def _transient(self, attempt: int, what: str, wait: float | None = None) -> int:
        """Count a transient failure; wait before the next attempt or give up."""
        attempt += 1
        self.retries += 1
        if attempt >= self.max_attempts:
            raise ShopifyError(f"{what}, {attempt} attempts in a row; the operations stay "
                               "queued: run `seg sync` again later")
        self._pause(wait if wait is not None else self.backoff.delay(attempt))
        return attempt
