"""A local fake of Shopify's Admin GraphQL API, for tests, the benchmark and demos.

It answers `tagsAdd` / `tagsRemove` (aliased, several per document, run in order), bulk tag
mutations and bulk queries (fake_bulk.py), `currentAppInstallation { accessScopes }` and the
client-credentials grant, with the real response shapes. Like the real API (fake_rules.py) it
enforces the cost-based leaky bucket (THROTTLED errors with `extensions.cost`; a single query
costs at most 1,000), refuses a whole request for a malformed id variable, falls forward from
a retired version and names the version served in `X-Shopify-API-Version`, lets granted tokens
expire, shows only 60 days of orders without `read_all_orders`, and (given the published schema)
refuses unknown fields. It keeps customer tags with Shopify's limits (userErrors past them) and
injects faults on a fraction of requests: HTTP 500, HTTP 429 with Retry-After, a connection
dropped before or after the mutations ran, slow answers. Bound to 127.0.0.1 only.

    python -m segflow.connectors.shopify.fake --port 8787 --customers 10000

Error wording the docs do not give (unknown customer, too many / too long tags) is this fake's.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from segflow.connectors.shopify import fake_rules as rules
from segflow.connectors.shopify.fake_bulk import FakeBulk

MUTATION_COST = 10
MAX_QUERY_COST = 1000  # a single query costs at most this, whatever the bucket holds
PLANS = {"standard": (2000.0, 100.0), "plus": (20000.0, 1000.0)}  # bucket size, restore rate
BULK_FIELDS = {"stagedUploadsCreate": 10, "bulkOperationRunMutation": 10,
               "bulkOperationRunQuery": 10, "currentBulkOperation": 1, "bulkOperation": 1,
               "currentAppInstallation": 1}
MAX_TAGS = 250
MAX_TAG_LENGTH = 255
FAULTS = ("500", "429", "drop_before", "drop_after", "slow")
_FIELD = re.compile(r"(\w+)\s*:\s*(tagsAdd|tagsRemove)\s*\(\s*id\s*:\s*\$(\w+)\s*,"
                    r"\s*tags\s*:\s*\$(\w+)\s*\)")
_GID = re.compile(r"gid://shopify/Customer/(\d+)")
_BULK_FIELD = re.compile(r"\b(" + "|".join(BULK_FIELDS) + r")\b")


@dataclass
class FakeOptions:
    token: str | None = "fake-token"  # the static token accepted (None: only granted ones)
    bucket_size: float = PLANS["standard"][0]    # standard plan (docs/shopify.md)
    restore_rate: float = PLANS["standard"][1]   # points per second, standard plan
    max_query_cost: float = MAX_QUERY_COST
    client_id: str | None = None      # the client-credentials grant, when both are set
    client_secret: str | None = None
    token_lifetime: float = 86_399.0  # seconds a granted token lives (`expires_in`)
    scopes: tuple[str, ...] = rules.ALL_SCOPES
    today: dt.date | None = None      # the day the 60-day order window ends (None: today)
    schema: object = None             # a graphql-core schema: documents are validated
    supported_versions: tuple[str, ...] = rules.SUPPORTED_VERSIONS
    fault_rate: float = 0.0         # fraction of requests that get a fault
    faults: tuple[str, ...] = FAULTS
    retry_after: str = "1"          # Retry-After of injected 429s
    slow_seconds: float = 0.2
    auto_create: bool = False       # unknown customers are created instead of refused
    seed: int = 0
    bulk_seconds_per_line: float = 0.0  # how long a bulk mutation takes per JSONL line


@dataclass
class FakeShopify:
    """The fake's state and its HTTP server; `start()` serves it in a thread."""

    options: FakeOptions = field(default_factory=FakeOptions)
    customers: dict[int, list[str]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    # what bulk queries export: Admin API objects (orders carry a `lineItems` list of nodes)
    export_customers: list[dict] = field(default_factory=list)
    export_orders: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.available = self.options.bucket_size
        self.updated = time.monotonic()
        self.rng = random.Random(self.options.seed)
        self.bulk = FakeBulk(self._apply, self.lock, self.options.bulk_seconds_per_line)
        self.tokens = rules.Tokens(self.options.token, self.options.client_id,
                                   self.options.client_secret, self.options.token_lifetime)
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.thread: threading.Thread | None = None

    # -- bucket --------------------------------------------------------------------------
    def _refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.options.bucket_size,
                             self.available + (now - self.updated) * self.options.restore_rate)
        self.updated = now

    def _status(self) -> dict:
        return {"maximumAvailable": float(self.options.bucket_size),
                "currentlyAvailable": int(self.available),
                "restoreRate": float(self.options.restore_rate)}

    # -- GraphQL ---------------------------------------------------------------------------
    def graphql(self, body: dict) -> dict:
        """Answer one GraphQL request (already authenticated)."""
        query = body.get("query") or ""
        variables = body.get("variables") or {}
        refused = rules.schema_errors(self.options.schema, query) or rules.malformed_ids(
            query, variables)
        if refused:
            self._count("refused")
            return {"errors": refused}
        fields = _FIELD.findall(query)
        bulk = None if fields else next(iter(_BULK_FIELD.findall(query)), None)
        if not fields and not bulk:
            return {"errors": [{"message": "this fake only knows tagsAdd / tagsRemove, bulk "
                                           "operations and currentAppInstallation",
                                "extensions": {"code": "UNSUPPORTED"}}]}
        cost = BULK_FIELDS[bulk] if bulk else MUTATION_COST * len(fields)
        with self.lock:
            self._refill()
            if cost > min(self.options.max_query_cost, self.options.bucket_size):
                limit = min(self.options.max_query_cost, self.options.bucket_size)
                return {"errors": [{
                    "message": f"Query cost is {cost}, which exceeds the single query max cost "
                               f"limit ({limit:g}).",
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost,
                                   "maxCost": limit}}]}
            if cost > self.available:
                self._count("throttled")
                return {"errors": [{"message": "Throttled", "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                        "extensions": {"cost": {"requestedQueryCost": cost,
                                                "actualQueryCost": None,
                                                "throttleStatus": self._status()}}}
            self.available -= cost
            if bulk:
                self._count(f"field_{bulk}")
                return {"data": self._bulk_answer(bulk, variables, query), "extensions": {"cost": {
                    "requestedQueryCost": cost, "actualQueryCost": cost,
                    "throttleStatus": self._status()}}}
            data = {alias: {"userErrors": self._apply(name, variables.get(id_var),
                                                      variables.get(tags_var))}
                    for alias, name, id_var, tags_var in fields}
            self._count("mutations", len(fields))
            return {"data": data, "extensions": {"cost": {
                "requestedQueryCost": cost, "actualQueryCost": cost,
                "throttleStatus": self._status()}}}

    def _bulk_answer(self, name: str, variables: dict, query: str) -> dict:
        if name == "currentAppInstallation":
            return {"currentAppInstallation": {"accessScopes": [
                {"handle": h} for h in self.options.scopes]}}
        if name == "stagedUploadsCreate":
            return self.bulk.stage(variables, self.url)
        if name == "bulkOperationRunMutation":
            return self.bulk.run(variables)
        if name == "bulkOperationRunQuery":
            invalid = rules.schema_errors(self.options.schema, variables.get("query") or "")
            if invalid:  # Shopify checks the bulk query when the operation is created
                return {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
                    {"field": ["query"], "message": f"Invalid bulk query: {e['message']}"}
                    for e in invalid]}}
            orders = rules.visible_orders(self.export_orders, self.options.scopes,
                                          self.options.today)
            return self.bulk.run_query(variables, self.export_customers, orders)
        if name == "bulkOperation":
            found = re.search(r'id:\s*"([^"]+)"', query)
            return self.bulk.by_id(self.url, variables.get("id") or (found[1] if found else ""))
        kind = re.search(r"type:\s*(\w+)", query)
        return self.bulk.current(self.url, kind[1] if kind else "QUERY")

    def _apply(self, name: str, gid, tags) -> list[dict]:
        m = _GID.fullmatch(str(gid or ""))
        if not m:
            return [{"field": ["id"], "message": "Invalid global id"}]
        cid = int(m[1])
        if cid not in self.customers:
            if not self.options.auto_create:
                return [{"field": ["id"], "message": "Customer does not exist"}]
            self.customers[cid] = []
        if isinstance(tags, str):
            tags = tags.split(",")
        tags = [t.strip() for t in tags or [] if t and t.strip()]
        current = self.customers[cid]
        lowered = {t.lower() for t in current}
        if name == "tagsRemove":
            drop = {t.lower() for t in tags}
            self.customers[cid] = [t for t in current if t.lower() not in drop]
            return []
        if any(len(t) > MAX_TAG_LENGTH for t in tags):
            return [{"field": ["tags"],
                     "message": f"Tags is too long (maximum is {MAX_TAG_LENGTH} characters)"}]
        new = []
        for t in tags:
            if t.lower() not in lowered:
                lowered.add(t.lower())
                new.append(t)
        if len(current) + len(new) > MAX_TAGS:
            return [{"field": ["tags"], "message": f"Tags cannot be more than {MAX_TAGS}"}]
        current.extend(new)
        return []

    def _count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def pick_fault(self) -> str | None:
        with self.lock:
            self._count("requests")
            if self.options.fault_rate and self.rng.random() < self.options.fault_rate:
                fault = self.rng.choice(self.options.faults)
                self._count(f"fault_{fault}")
                return fault
        return None

    # -- serving -------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 in a daemon thread; returns the base URL."""
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="fake-shopify")
        self.thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FakeShopify:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _chunks(lines, size: int = 64 * 1024):
    """JSONL lines joined into chunks of about `size` bytes."""
    part: list[bytes] = []
    n = 0
    for line in lines:
        part.append(line.encode() + b"\n")
        n += len(part[-1])
        if n >= size:
            yield b"".join(part)
            part, n = [], 0
    if part:
        yield b"".join(part)


def _handler(fake: FakeShopify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one small answer per request: no 40 ms ACK stalls

        def log_message(self, format, *args) -> None:  # quiet
            pass

        def _send(self, status: int, payload, headers: dict | None = None) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def do_GET(self) -> None:
            r = re.fullmatch(r"/_fake/results/(\d+)\.jsonl", self.path)
            if r:
                lines = fake.bulk.result_lines(int(r[1]))
                if lines is None:
                    self._send(404, {"errors": "Not Found"})
                    return
                self.send_response(200)  # chunked: the file is written as it is produced
                self.send_header("Content-Type", "application/jsonl")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in _chunks(lines):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
                return
            m = re.fullmatch(r"/_fake/customers/(\d+)", self.path)
            if not m:
                self._send(404, {"errors": "Not Found"})
                return
            with fake.lock:
                tags = list(fake.customers.get(int(m[1]), []))
            self._send(200, {"id": int(m[1]), "tags": tags})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path == "/_fake/uploads":  # the staged upload target (no Shopify token)
                ok = fake.bulk.receive_upload(self.headers.get("Content-Type", ""), raw)
                self._send(201 if ok else 400, {} if ok else {"errors": "bad upload"})
                return
            if self.path == "/admin/oauth/access_token":  # the client-credentials grant
                form = dict(parse_qsl(raw.decode("utf-8", "replace")))
                status, payload = fake.tokens.grant(form)
                self._send(status, payload)
                return
            asked = re.fullmatch(r"/admin/api/([\w-]+)/graphql\.json", self.path)
            if not asked:
                self._send(404, {"errors": "Not Found"})
                return
            version = {"X-Shopify-API-Version": rules.served_version(
                asked[1], fake.options.supported_versions)}
            if not fake.tokens.valid(self.headers.get("X-Shopify-Access-Token")):
                fake._count("unauthorized")
                self._send(401, {"errors": "[API] Invalid API key or access token "
                                           "(unrecognized login or wrong password)"}, version)
                return
            fault = fake.pick_fault()
            if fault == "500":
                self._send(500, {"errors": "Internal Server Error"}, version)
                return
            if fault == "429":
                self._send(429, {"errors": "Exceeded 2 calls per second for api client. "
                                           "Reduce request rates to resume uninterrupted service."},
                           {"Retry-After": fake.options.retry_after})
                return
            if fault == "drop_before":
                self._drop()
                return
            if fault == "slow":
                time.sleep(fake.options.slow_seconds)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, {"errors": "Bad Request: body is not JSON"})
                return
            answer = fake.graphql(body)
            if fault == "drop_after":
                self._drop()
                return
            self._send(200, answer, version)

    return Handler


def build_fake(argv: list[str] | None = None) -> FakeShopify:
    """The fake the command line describes (not started)."""
    from segflow.sources.synth.catalog import CUSTOMER_ID_BASE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--token-env", default="SHOPIFY_ACCESS_TOKEN",
                        help="the environment variable holding the token the fake accepts")
    parser.add_argument("--client-id", default=None,
                        help="accept the client-credentials grant for this client id (its "
                             "secret from $SHOPIFY_CLIENT_SECRET)")
    parser.add_argument("--token-lifetime", type=float, default=86_399.0,
                        help="seconds a granted token lives (default 86,399, as Shopify's)")
    parser.add_argument("--plan", choices=sorted(PLANS), default="standard",
                        help="the bucket of this plan (standard: 2,000 points restoring 100/s)")
    parser.add_argument("--bucket-size", type=float, default=None)
    parser.add_argument("--restore-rate", type=float, default=None)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--retry-after", default="1")
    parser.add_argument("--auto-create", action="store_true",
                        help="accept any customer id (default: only the --customers ones)")
    parser.add_argument("--customers", type=int, default=0,
                        help="the N customers of `seg generate --customers N` (ids "
                             f"{CUSTOMER_ID_BASE + 1}...), no tags")
    parser.add_argument("--schema", default=None,
                        help="a published Admin schema (introspection JSON, .gz): validate "
                             "every document against it (needs graphql-core)")
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env)
    secret = os.environ.get("SHOPIFY_CLIENT_SECRET") if args.client_id else None
    if not token and not secret:
        parser.error(f"set the token the fake should accept in ${args.token_env} (or give "
                     "--client-id and $SHOPIFY_CLIENT_SECRET)")
    size, rate = PLANS[args.plan]
    fake = FakeShopify(FakeOptions(
        token=token or None, client_id=args.client_id, client_secret=secret,
        token_lifetime=args.token_lifetime, bucket_size=args.bucket_size or size,
        restore_rate=args.restore_rate or rate, fault_rate=args.fault_rate,
        retry_after=args.retry_after, auto_create=args.auto_create,
        schema=load_schema(args.schema) if args.schema else None),
        customers={CUSTOMER_ID_BASE + i: [] for i in range(1, args.customers + 1)})
    fake.port = args.port
    return fake


def main(argv: list[str] | None = None) -> None:
    fake = build_fake(argv)
    fake.start(fake.port)
    print(f"fake Shopify Admin API on {fake.url} (endpoint = \"{fake.url}\" in [shopify], "
          "with SEG_SHOPIFY_ALLOW_LOCAL=1); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


def load_schema(path: str):
    """A graphql-core schema from an introspection result (JSON, or gzipped JSON)."""
    import gzip

    from graphql import build_client_schema

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    schema = build_client_schema(data.get("data", data))
    # Shopify's schema deprecates a few interface fields on some implementations only, which
    # graphql-core's schema check (not the query validation) refuses: the schema is Shopify's,
    # taken as it is
    schema._validation_errors = []  # type: ignore[attr-defined]
    return schema


if __name__ == "__main__":
    main()
