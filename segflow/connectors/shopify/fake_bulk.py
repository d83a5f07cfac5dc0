"""The fake's bulk mutations: staged uploads, `bulkOperationRunMutation` run in a thread over
the uploaded JSONL, `bulkOperation(id:)` / `currentBulkOperation` polling and a JSONL result
file, in Shopify's shapes. One bulk mutation at a time, as older API versions allow. A bulk
query's result is written as it is read (not held whole), with children as their own lines
(`__parentId`); ungrouped (`groupObjects: false`, the default from 2026-01) some children come
before their parent, as the docs allow."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_MUTATION = re.compile(r"(tagsAdd|tagsRemove)\s*\(")
# An order's nested connections in a bulk export: each node is its own JSONL line with
# `__parentId` (discount applications are not Nodes: they have no `id`).
ORDER_CONNECTIONS = ("discountApplications", "lineItems")


@dataclass
class BulkOperation:
    id: str
    mutation: str           # tagsAdd / tagsRemove; "" for a query
    lines: list[dict]
    status: str = "CREATED"
    results: list[str] = field(default_factory=list)
    kind: str = "MUTATION"  # or QUERY
    lines_of: Callable[[], Iterator[str]] | None = None  # a query's result, produced lazily
    count: int = 0

    def view(self, base_url: str, number: int) -> dict:
        done = self.status == "COMPLETED" and bool(self.results or self.count)
        return {"id": self.id, "status": self.status, "errorCode": None,
                "objectCount": str(self.count or len(self.results)),
                "url": f"{base_url}/_fake/results/{number}.jsonl" if done else None,
                "partialDataUrl": None}


class FakeBulk:
    """State and answers for the bulk part of the fake (used under the fake's lock)."""

    def __init__(self, apply: Callable[[str, object, object], list[dict]],
                 lock: threading.Lock, seconds_per_line: float = 0.0):
        self.apply = apply
        self.lock = lock
        self.seconds_per_line = seconds_per_line
        self.uploads: dict[str, bytes] = {}
        self.operations: list[BulkOperation] = []
        self.last_query = ""

    def stage(self, variables: dict, base_url: str) -> dict:
        name = (variables.get("input") or [{}])[0].get("filename", "vars.jsonl")
        key = f"tmp/segflow/bulk/{uuid.uuid4().hex}/{name}"
        return {"stagedUploadsCreate": {"stagedTargets": [{
            "url": f"{base_url}/_fake/uploads", "resourceUrl": None,
            "parameters": [{"name": "key", "value": key},
                           {"name": "Content-Type", "value": "text/jsonl"},
                           {"name": "success_action_status", "value": "201"}]}],
            "userErrors": []}}

    def receive_upload(self, content_type: str, body: bytes) -> bool:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields, file = {}, None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                file = part.get_payload(decode=True)
            else:
                fields[name] = part.get_content().strip()
        if "key" not in fields or file is None:
            return False
        self.uploads[fields["key"]] = file
        return True

    def run(self, variables: dict) -> dict:
        def refused(message: str, code: str) -> dict:
            return {"bulkOperationRunMutation": {"bulkOperation": None, "userErrors": [
                {"field": None, "message": message, "code": code}]}}

        if any(op.status in ("CREATED", "RUNNING") and op.kind == "MUTATION"
               for op in self.operations):
            return refused("A bulk mutation operation for this app and shop is already in "
                           "progress.", "OPERATION_IN_PROGRESS")
        content = self.uploads.get(variables.get("path") or "")
        if content is None:
            return refused("The staged upload path is not valid.", "NO_SUCH_FILE")
        found = _MUTATION.search(variables.get("mutation") or "")
        if not found:
            return refused("This fake runs tagsAdd / tagsRemove only.", "INVALID_MUTATION")
        lines = [json.loads(raw) for raw in content.splitlines() if raw.strip()]
        op = BulkOperation(f"gid://shopify/BulkOperation/{len(self.operations) + 1}",
                           found[1], lines)
        self.operations.append(op)
        threading.Thread(target=self._work, args=(op,), daemon=True).start()
        return {"bulkOperationRunMutation": {
            "bulkOperation": {"id": op.id, "status": op.status}, "userErrors": []}}

    def _work(self, op: BulkOperation) -> None:
        op.status = "RUNNING"
        for number, line in enumerate(op.lines):
            with self.lock:
                errors = self.apply(op.mutation, line.get("id"), line.get("tags"))
            op.results.append(json.dumps({"data": {op.mutation: {"userErrors": errors}},
                                          "__lineNumber": number}))
            if self.seconds_per_line:
                time.sleep(self.seconds_per_line)
        op.status = "COMPLETED"

    def current(self, base_url: str, kind: str = "MUTATION") -> dict:
        for number in range(len(self.operations), 0, -1):
            if self.operations[number - 1].kind == kind:
                return {"currentBulkOperation": self.operations[number - 1].view(base_url,
                                                                                  number)}
        return {"currentBulkOperation": None}

    def by_id(self, base_url: str, bulk_id: str) -> dict:
        for number, op in enumerate(self.operations, 1):
            if op.id == bulk_id:
                return {"bulkOperation": op.view(base_url, number)}
        return {"bulkOperation": None}

    def run_query(self, variables: dict, customers: list[dict], orders: list[dict]) -> dict:
        """Export customers or orders (the selection set is not checked: full objects)."""
        query = variables.get("query") or ""
        grouped = variables.get("groupObjects", False) is not False
        since = re.search(r"updated_at:>=\\?'([^'\\]+)", query)

        def fresh(node: dict) -> bool:
            return since is None or node.get("updatedAt", "") >= since[1]

        if re.search(r"\borders\b", query):
            chosen = list(filter(fresh, orders))

            def lines() -> Iterator[str]:  # nested connections: their own lines
                for i, order in enumerate(chosen):
                    parent = json.dumps({k: v for k, v in order.items()
                                         if k not in ORDER_CONNECTIONS})
                    children = [json.dumps({**child, "__parentId": order["id"]})
                                for key in ORDER_CONNECTIONS for child in order.get(key, [])]
                    yield from ([parent, *children] if grouped or i % 2 == 0
                                else [*children, parent])
            count = len(chosen) + sum(len(o.get(key, [])) for o in chosen
                                      for key in ORDER_CONNECTIONS)
        else:
            chosen = list(filter(fresh, customers))

            def lines() -> Iterator[str]:
                return (json.dumps(c) for c in chosen)
            count = len(chosen)
        op = BulkOperation(f"gid://shopify/BulkOperation/{len(self.operations) + 1}", "", [],
                           status="COMPLETED", kind="QUERY", lines_of=lines, count=count)
        self.operations.append(op)
        self.last_query = query
        return {"bulkOperationRunQuery": {"bulkOperation": {"id": op.id, "status": "CREATED"},
                                          "userErrors": []}}

    def result_lines(self, number: int) -> Iterator[str] | None:
        """The result file's lines (None: no such file)."""
        if not 1 <= number <= len(self.operations):
            return None
        op = self.operations[number - 1]
        if op.status != "COMPLETED":
            return None
        return op.lines_of() if op.lines_of else iter(op.results)
