"""A local fake of Shopify's Admin GraphQL API, for tests, the benchmark and demos.

It answers `tagsAdd` / `tagsRemove` (aliased, several per document, run in order) and bulk tag
mutations (fake_bulk.py) with the real response shapes, enforces the cost-based leaky bucket (THROTTLED errors with
`extensions.cost`), keeps customer tags with Shopify's limits (userErrors past them), and
injects faults on a fraction of requests: HTTP 500, HTTP 429 with Retry-After, a connection
dropped before or after the mutations ran, slow answers. Bound to 127.0.0.1 only.

    python -m segflow.runtime.shopify.fake --port 8787 --token-env SHOPIFY_ACCESS_TOKEN

Error wording the docs do not give (unknown customer, too many / too long tags) is this fake's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from segflow.runtime.shopify.fake_bulk import FakeBulk

MUTATION_COST = 10
BULK_FIELDS = {"stagedUploadsCreate": 10, "bulkOperationRunMutation": 10,
               "bulkOperationRunQuery": 10, "currentBulkOperation": 1}
MAX_TAGS = 250
MAX_TAG_LENGTH = 255
FAULTS = ("500", "429", "drop_before", "drop_after", "slow")
_FIELD = re.compile(r"(\w+)\s*:\s*(tagsAdd|tagsRemove)\s*\(\s*id\s*:\s*\$(\w+)\s*,"
                    r"\s*tags\s*:\s*\$(\w+)\s*\)")
_GID = re.compile(r"gid://shopify/Customer/(\d+)")


@dataclass
class FakeOptions:
    token: str = "fake-token"
    bucket_size: float = 1000.0     # standard plan (docs/shopify.md)
    restore_rate: float = 100.0     # points per second, standard plan
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
        self.server: ThreadingHTTPServer | None = None
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
        fields = _FIELD.findall(query)
        bulk = next((name for name in BULK_FIELDS if name in query), None)
        if not fields and not bulk:
            return {"errors": [{"message": "this fake only knows tagsAdd / tagsRemove and "
                                           "bulk tag mutations",
                                "extensions": {"code": "UNSUPPORTED"}}]}
        cost = BULK_FIELDS[bulk] if bulk else MUTATION_COST * len(fields)
        with self.lock:
            self._refill()
            if cost > self.options.bucket_size:
                return {"errors": [{
                    "message": f"Query cost is {cost}, which exceeds the single query max cost "
                               f"limit ({self.options.bucket_size:g}).",
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost,
                                   "maxCost": self.options.bucket_size}}]}
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
        if name == "stagedUploadsCreate":
            return self.bulk.stage(variables, self.url)
        if name == "bulkOperationRunMutation":
            return self.bulk.run(variables)
        if name == "bulkOperationRunQuery":
            return self.bulk.run_query(variables, self.export_customers, self.export_orders)
        kind = re.search(r"type:\s*(\w+)", query)
        return self.bulk.current(self.url, kind[1] if kind else "MUTATION")

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
                content = fake.bulk.result_file(int(r[1]))
                if content is None:
                    self._send(404, {"errors": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/jsonl")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
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
            if not re.fullmatch(r"/admin/api/[\w-]+/graphql\.json", self.path):
                self._send(404, {"errors": "Not Found"})
                return
            if self.headers.get("X-Shopify-Access-Token") != fake.options.token:
                self._send(401, {"errors": "[API] Invalid API key or access token "
                                           "(unrecognized login or wrong password)"})
                return
            fault = fake.pick_fault()
            if fault == "500":
                self._send(500, {"errors": "Internal Server Error"})
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
            self._send(200, answer)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--token-env", default="SHOPIFY_ACCESS_TOKEN",
                        help="the environment variable holding the token the fake accepts")
    parser.add_argument("--bucket-size", type=float, default=1000.0)
    parser.add_argument("--restore-rate", type=float, default=100.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--retry-after", default="1")
    parser.add_argument("--auto-create", action="store_true",
                        help="accept any customer id (default: only --customers 1..N)")
    parser.add_argument("--customers", type=int, default=0, help="customers 1..N, no tags")
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env)
    if not token:
        parser.error(f"set the token the fake should accept in ${args.token_env}")
    fake = FakeShopify(FakeOptions(token=token, bucket_size=args.bucket_size,
                                   restore_rate=args.restore_rate, fault_rate=args.fault_rate,
                                   retry_after=args.retry_after, auto_create=args.auto_create),
                       customers={i: [] for i in range(1, args.customers + 1)})
    fake.start(args.port)
    print(f"fake Shopify Admin API on {fake.url} (endpoint = \"{fake.url}\" in [shopify]); "
          "Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
