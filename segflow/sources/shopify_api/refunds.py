"""Dated refunds from the Admin API's orders, into `store.refunds`.

`Order.refunds` lists an order's refunds, each with `createdAt` (when it was made; nullable in
the schema) and `totalRefundedSet` (what it returned, in shop and presentment money):
https://shopify.dev/docs/api/admin-graphql/latest/objects/Refund. It is a list on the order, so
a bulk export carries it inside the order's own JSONL line. A refund without `createdAt` is left
out: its amount is still in the order's `totalRefundedSet` (`refunded_amount`), which applies
from the order's day (docs/data.md).
"""

from __future__ import annotations

from decimal import Decimal

import psycopg


def gid_number(gid: str | None) -> int | None:
    """The number at the end of a global id (`gid://shopify/Refund/123` -> 123)."""
    tail = gid.rsplit("/", 1)[-1] if gid else ""
    return int(tail) if tail.isdigit() else None


def refund_rows(order: dict) -> list[tuple]:
    """(order_id, refund_id, created_at, amount) of an exported order's dated refunds."""
    order_id = gid_number(order.get("id"))
    rows = []
    for refund in order.get("refunds") or []:
        amount = ((refund.get("totalRefundedSet") or {}).get("shopMoney") or {}).get("amount")
        refund_id = gid_number(refund.get("id"))
        if order_id is None or refund_id is None or not refund.get("createdAt") or amount is None:
            continue
        rows.append((order_id, refund_id, refund["createdAt"], Decimal(str(amount))))
    return rows


# Staged while the orders stream in (ingest_api._Stager), written by `write_refunds`.
REFUND_STAGING = ("CREATE TEMP TABLE seg_api_refunds ON COMMIT DROP AS"
                  " SELECT order_id, refund_id, created_at, amount FROM store.refunds WITH NO DATA")


def write_refunds(conn: psycopg.Connection) -> int:
    """Replace the dated refunds of the exported orders (`seg_api_orders`) with the staged ones,
    in the import's transaction."""
    conn.execute("DELETE FROM store.refunds AS r USING seg_api_orders AS o"
                 " WHERE r.order_id = o.order_id AND NOT EXISTS ("
                 " SELECT 1 FROM seg_api_refunds AS n WHERE (n.order_id, n.refund_id, n.created_at,"
                 " n.amount) = (r.order_id, r.refund_id, r.created_at, r.amount))")
    return conn.execute("INSERT INTO store.refunds SELECT * FROM seg_api_refunds"
                        " ON CONFLICT (order_id, refund_id) DO NOTHING").rowcount
