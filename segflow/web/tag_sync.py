"""The segment page's tag-sync section: where the segment's Shopify tag stands, and the one-off tag
actions that targeted the segment. Both read through `segflow.destinations.shopify` (no SQL here);
nothing of the [shopify] configuration is shown but the shop's domain (never the token)."""

from __future__ import annotations

import datetime as dt

import psycopg

from segflow.analytics import reports
from segflow.destinations.shopify.actions import history
from segflow.destinations.shopify.outbox import segment_tag_sync
from segflow.web.view import View

FAILURES = 5  # the newest failed operations listed; `seg sync` reports them all
STATUSES = [("pending", "Pending"), ("sent", "In flight"), ("done", "Done"),
            ("failed", "Failed"), ("cancelled", "Cancelled")]
ACTION_COLUMNS = [("created_at", "When"), ("kind", "Action"), ("tag", "Tag"),
                  ("customers", "Customers targeted"), ("operations", "Operations"),
                  ("done", "Done"), ("failed", "Failed"), ("waiting", "Waiting"),
                  ("status", "Status")]


def _when(at: dt.datetime | None) -> str | None:
    return None if at is None else at.isoformat(sep=" ", timespec="seconds")


def tag_sync(conn: psycopg.Connection, segment_id: str, view: View) -> dict:
    """The segment's tag, its carriers, its operations by status, the latest failures, the
    one-off actions on it (`seg tags history`'s rows for this segment)."""
    state = segment_tag_sync(conn, segment_id, failures=FAILURES)
    actions = [a for a in history(conn) if a["segment"] == segment_id]
    shop = f" on {view.shop}" if view.shop else ""
    tables = []
    if state.tag is None:
        path = reports.segment_info(conn, segment_id)["path"] or "its file"
        meta = [f"This segment has no Shopify tag. To keep one on its members{shop}, add "
                f'`tag = "..."` to its definition in `{path}`, then `seg plan` and `seg apply`: '
                "each daily run then tags customers who enter and untags those who leave."]
    else:
        counts = state.counts
        waiting = counts["pending"] + counts["sent"]
        meta = [f"Kept in sync{shop} as the tag `{state.tag}`: {state.carriers:,} customer"
                f"{'' if state.carriers == 1 else 's'} carry it from segflow"
                + (f" ({state.waiting_adds:,} of them still waiting to be sent)"
                   if state.waiting_adds else "") + ". Tags a merchant set by hand are not "
                "counted and never removed.",
                f"Last synced: {_when(state.last_synced)}." if state.last_synced else
                "Never synced yet: `seg sync` (or `seg run`, which ends with it) sends the "
                "operations."]
        if state.unlinked:
            meta.append(f"{state.unlinked:,} member{' has' if state.unlinked == 1 else 's have'}"
                        " no Shopify customer id (the import gave none, so segflow derived "
                        "one): the tag is never sent for them.")
        if waiting and state.last_synced:
            meta.append(f"{waiting:,} operation{' is' if waiting == 1 else 's are'} waiting for "
                        "the next `seg sync`.")
        tables.append({"title": "Operations of the daily sync", "compact": True,
                       "columns": STATUSES, "rows": [counts]})
        if counts["failed"]:
            tables.append({
                "title": "Latest failures", "columns": [
                    ("at", "When"), ("customer_id", "Customer"), ("op", "Operation"),
                    ("tag", "Tag"), ("attempts", "Attempts"), ("error", "Error")],
                "rows": [{**f, "at": _when(f["at"]), "customer_id": str(f["customer_id"])}
                         for f in state.failures],
                "note": (f"The newest {FAILURES} of {counts['failed']:,}. " if counts["failed"]
                         > FAILURES else "") + "Once the cause is fixed in Shopify, "
                        "`seg sync --retry-failed` sends them again."})
    tables.append({"title": "One-off tag actions", "columns": ACTION_COLUMNS,
                   "rows": [{**a, "created_at": a["created_at"].replace("T", " ")}
                            for a in actions],
                   "note": "Actions of `seg tags assign` and `seg tags remove --segment` on "
                           "this segment; `seg tags history` lists them all."})
    return {"meta": meta, "tables": tables}
