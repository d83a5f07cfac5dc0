"""Large tag changes through one bulk mutation instead of thousands of paced requests.

Shopify runs a bulk mutation once per line of a JSONL file of variables: the file is uploaded
to a staged target (`stagedUploadsCreate`, resource BULK_MUTATION_VARIABLES), the operation is
started with `bulkOperationRunMutation(mutation, stagedUploadPath)` (the target's `key`), polled
through `bulkOperation(id:)` (API 2026-01 and later; `currentBulkOperation(type:)` before)
until it ends, and its results are read back as JSONL, one line per input line
(`__lineNumber`). The access token goes only to the Admin API,
never to the upload or download URLs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

from segflow.connectors.shopify.client import (
    MUTATIONS,
    AdminClient,
    CallResult,
    ShopifyError,
    TagCall,
    customer_gid,
)

TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "EXPIRED"}

_STAGE = """mutation Stage($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}"""

_RUN = """mutation Run($mutation: String!, $path: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $path, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""

_POLL_CURRENT = """query Poll {
  currentBulkOperation(type: %s) {
    id status errorCode objectCount url partialDataUrl
  }
}"""

POLL_BY_ID = """query Poll($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode objectCount url partialDataUrl
  }
}"""

BY_ID_SINCE = "2026-01"  # the first version with the `bulkOperation(id:)` query


def polls_by_id(version: str | None) -> bool:
    """Whether this API version has `bulkOperation(id:)` (else `currentBulkOperation`)."""
    return version is not None and (version == "unstable" or version >= BY_ID_SINCE)


def await_operation(client: AdminClient, bulk_id: str, kind: str, *, poll_seconds: float,
                    sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll the operation until it ends; its last state."""
    by_id = polls_by_id(client.served_version or client.api_version)
    while True:
        if by_id:
            current = (client.execute(POLL_BY_ID, {"id": bulk_id}).get("data") or {}).get(
                "bulkOperation")
        else:
            current = (client.execute(_POLL_CURRENT % kind, {}).get("data") or {}).get(
                "currentBulkOperation")
        if not current or current.get("id") != bulk_id:
            raise ShopifyError(f"lost track of bulk operation {bulk_id}")
        if current["status"] in TERMINAL:
            return current
        sleep(poll_seconds)


def line_mutation(op: str) -> str:
    """The mutation each JSONL line runs, with its variables as the line's keys."""
    return (f"mutation call($id: ID!, $tags: [String!]!) {{ {MUTATIONS[op]}(id: $id, "
            "tags: $tags) { userErrors { field message } } }")


def jsonl(calls: Sequence[TagCall]) -> bytes:
    return "".join(json.dumps({"id": customer_gid(c.customer_id), "tags": list(c.tags)}) + "\n"
                   for c in calls).encode()


def _user_errors(payload: dict | None, what: str) -> None:
    errors = (payload or {}).get("userErrors") or []
    if errors:
        raise ShopifyError(f"Shopify refused the {what}: "
                           + "; ".join(str(e.get("message")) for e in errors))


def run_bulk(client: AdminClient, calls: Sequence[TagCall], *, poll_seconds: float = 2.0,
             sleep: Callable[[float], None] = time.sleep,
             say: Callable[[str], None] | None = None) -> list[CallResult | None]:
    """Run the calls (all the same direction) as one bulk mutation; one result per call
    (None: the operation ended before running that line; it stays to be sent again)."""
    ops = {c.op for c in calls}
    assert len(ops) == 1, "one bulk mutation runs one kind of mutation"
    op = ops.pop()
    say = say or (lambda _m: None)
    body = client.execute(_STAGE, {"input": [{
        "resource": "BULK_MUTATION_VARIABLES", "filename": "segflow-tags.jsonl",
        "mimeType": "text/jsonl", "httpMethod": "POST"}]})
    staged = (body.get("data") or {}).get("stagedUploadsCreate")
    _user_errors(staged, "staged upload")
    target = staged["stagedTargets"][0]
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    client.upload(target["url"], fields, "segflow-tags.jsonl", jsonl(calls))
    body = client.execute(_RUN, {"mutation": line_mutation(op), "path": fields["key"]})
    started = (body.get("data") or {}).get("bulkOperationRunMutation")
    _user_errors(started, "bulk mutation")
    bulk_id = started["bulkOperation"]["id"]
    say(f"bulk operation {bulk_id}: {len(calls):,} {MUTATIONS[op]} calls")
    current = await_operation(client, bulk_id, "MUTATION", poll_seconds=poll_seconds,
                              sleep=sleep)
    url = current.get("url") or current.get("partialDataUrl")
    if current["status"] != "COMPLETED" and not url:
        raise ShopifyError(f"bulk operation {bulk_id} ended {current['status']} "
                           f"({current.get('errorCode') or 'no error code'})")
    results: dict[int, CallResult] = {}
    for line in (client.download(url) if url else b"").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        payload = (row.get("data") or {}).get(MUTATIONS[op])
        errors = (payload or {}).get("userErrors") or row.get("errors") or []
        message = "; ".join(str(e.get("message", e)) for e in errors) if errors else None
        if payload is None and not errors:
            message = "no result"
        results[int(row["__lineNumber"])] = CallResult(message)
    return [results.get(i) for i in range(len(calls))]
