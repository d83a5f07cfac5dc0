"""A small Admin GraphQL client for tag operations (httpx), paced and retrying.

Several `tagsAdd` / `tagsRemove` calls go in one document under aliases (top-level mutation
fields run one after another, in order). Before a request is sent the client waits until the
bucket holds its estimated cost; THROTTLED answers, HTTP 429 (Retry-After), 5xx, timeouts and
dropped connections are retried with backoff. The access token is only ever put in the request
header: it is not in the client's repr, nor in any error this module raises.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import httpx

from segflow.connectors.shopify.auth import ClientCredentials, Secret, StaticToken
from segflow.connectors.shopify.redact import redact
from segflow.connectors.shopify.throttle import Backoff, CostBucket, retry_after_seconds
from segflow.errors import SegflowError

__all__ = ["AdminClient", "CallResult", "RequestRefused", "Secret", "ShopifyError", "TagCall"]

MUTATIONS = {"add": "tagsAdd", "remove": "tagsRemove"}
THROTTLE_RETRIES = 100  # THROTTLED answers tolerated for one request (each waits for the bucket)


class ShopifyError(SegflowError):
    """Shopify could not be reached or refused the request as a whole (nothing recorded)."""


_VARIABLE = re.compile(r"Variable \$?(\w+) of type")


class RequestRefused(ShopifyError):
    """The API answered with errors and no data: nothing in the document ran.

    Shopify does this for a whole request when one variable is malformed (`Variable $id3 of
    type ID! was provided invalid value`) or the document does not validate.
    """

    def __init__(self, message: str, errors: list[dict]):
        super().__init__(message)
        self.errors = errors

    def variables(self) -> dict[str, str]:
        """{variable name: its problem} for errors that name a variable."""
        out = {}
        for e in self.errors:
            m = _VARIABLE.match(str(e.get("message", "")))
            if m:
                problems = (e.get("extensions") or {}).get("problems") or []
                detail = "; ".join(str(p.get("explanation")) for p in problems
                                   if isinstance(p, dict) and p.get("explanation"))
                out[m[1]] = f"{e['message']}" + (f": {detail}" if detail else "")
        return out


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


Auth = StaticToken | ClientCredentials
_log = logging.getLogger("segflow.shopify")
_VERSION = re.compile(r"/admin/api/([\w-]+)/graphql\.json$")


class AdminClient:
    """POSTs GraphQL documents to one shop's Admin API."""

    def __init__(self, url: str, token: str | Auth, *, timeout: float = 30.0,
                 max_attempts: int = 8, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None,
                 warn: Callable[[str], None] | None = None):
        self.url = url
        self.__auth: Auth = StaticToken(token) if isinstance(token, str) else token
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.bucket = CostBucket()
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.waited = 0.0
        found = _VERSION.search(url)
        self.api_version = found[1] if found else None
        self.served_version: str | None = None
        self.warn = warn or _log.warning
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
        for secret in self.__auth.secrets():
            if secret:
                text = text.replace(secret, "***")
        return redact(text)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)

    def tag_calls(self, calls: Sequence[TagCall]) -> list[CallResult]:
        """Send the calls in one request; one result per call, in order.

        When Shopify refuses the whole request (a malformed variable), the calls it names fail
        and the others are sent again; a refusal that names none is split in halves, so one
        bad operation never fails or stalls the rest.
        """
        calls = list(calls)
        document, variables = build_document(calls)
        try:
            body = self.execute(document, variables, mutations=len(calls))
        except RequestRefused as exc:
            return self._split(calls, exc)
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

    def _split(self, calls: list[TagCall], exc: RequestRefused) -> list[CallResult]:
        if len(calls) == 1:
            return [CallResult(self._scrub(exc.message))]
        named = exc.variables()
        bad = {i: named[f"{kind}{i}"] for i in range(len(calls)) for kind in ("id", "tags")
               if f"{kind}{i}" in named}
        if not bad:
            half = len(calls) // 2
            return self.tag_calls(calls[:half]) + self.tag_calls(calls[half:])
        rest = [i for i in range(len(calls)) if i not in bad]
        results = dict(zip(rest, self.tag_calls([calls[i] for i in rest]) if rest else [],
                           strict=True))
        results.update({i: CallResult(self._scrub(f"Shopify refused the request: {m}"))
                        for i, m in bad.items()})
        return [results[i] for i in range(len(calls))]

    def _check_version(self, response: httpx.Response) -> None:
        served = response.headers.get("X-Shopify-API-Version")
        if not served or served == self.served_version:
            return
        self.served_version = served
        if self.api_version and served != self.api_version:
            self.warn(f"Shopify served Admin API version {served}, not the {self.api_version} "
                      "asked for (a retired version falls forward to the oldest supported "
                      "one): set [shopify] api_version to a supported version "
                      "(docs/shopify.md)")

    def _post(self, document: str, variables: dict) -> httpx.Response:
        token = self.__auth.token(self._http)
        return self._http.post(self.url, json={"query": document, "variables": variables},
                               headers={"X-Shopify-Access-Token": token,
                                        "Content-Type": "application/json"})

    def execute(self, document: str, variables: dict, *, mutations: int = 1) -> dict:
        """POST one GraphQL document; retries until an answer that is not a transient error."""
        attempt = 0
        throttles = 0
        refreshed = False
        while True:
            cost = self.bucket.cost_per_mutation * mutations
            self._pause(self.bucket.wait_for(cost))
            self.bucket.spend(cost)
            self.requests += 1
            try:
                response = self._post(document, variables)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                attempt = self._transient(attempt, f"{type(exc).__name__} from Shopify")
                continue
            self._check_version(response)
            if response.status_code == 429:
                attempt = self._transient(attempt, "HTTP 429 from Shopify",
                                          retry_after_seconds(response.headers.get("Retry-After")))
                continue
            if response.status_code >= 500:
                attempt = self._transient(attempt, f"HTTP {response.status_code} from Shopify")
                continue
            if response.status_code == 401 and self.__auth.refreshable and not refreshed:
                refreshed = True  # an expired or revoked token: ask for a new one, once
                self.__auth.invalidate()
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
                errors = [e if isinstance(e, dict) else {"message": str(e)}
                          for e in body["errors"]]
                raise RequestRefused("Shopify refused the request: " + self._scrub(
                    "; ".join(str(e.get("message", e)) for e in errors[:3])), errors)
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
        """GET a bulk operation's result file whole (small files: bulk mutation results)."""
        return b"".join(line + b"\n" for line in self.stream_lines(url))

    def stream_lines(self, url: str) -> Iterator[bytes]:
        """The lines of a bulk result file (a signed URL: no Shopify token), streamed.

        Failures before the first line are retried; a connection lost mid-file raises
        ShopifyError (what was read stays read: the caller decides).
        """
        for attempt in range(self.max_attempts):
            started = False
            try:
                with self._http.stream("GET", url) as response:
                    if response.status_code == 200:
                        for line in response.iter_lines():
                            started = True
                            if line.strip():
                                yield line.encode()
                        return
                    if response.status_code < 500:
                        raise ShopifyError(f"the bulk result file was refused (HTTP "
                                           f"{response.status_code})")
            except (httpx.TimeoutException, httpx.NetworkError,
                    httpx.RemoteProtocolError) as exc:
                if started:
                    raise ShopifyError(f"the bulk result download broke off "
                                       f"({type(exc).__name__}); run the import again") from None
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
