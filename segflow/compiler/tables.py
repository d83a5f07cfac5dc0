"""Names of the canonical tables, which orders count, and the statement that keeps the stored
`customer_order_index` (an order's position today, for read models) right."""

from __future__ import annotations

from importlib import resources

import sqlglot
from sqlglot import exp

from segflow.compiler import nodes as n
from segflow.compiler.evaluation import Evaluation

SCHEMA = "store"
CUSTOMERS = f"{SCHEMA}.customers"
ORDERS = f"{SCHEMA}.orders"
ORDER_LINES = f"{SCHEMA}.order_lines"
LIST_MEMBERS = f"{SCHEMA}.list_members"
REFUNDS = f"{SCHEMA}.refunds"  # dated refunds (migration 0006), where the source has dates
POSITION = "customer_order_index"  # an order's position among its customer's counted orders


def canonical_ddl() -> str:
    """The DDL of the canonical store tables (migration 1 of the store schema)."""
    return resources.files("segflow.compiler").joinpath("canonical.sql").read_text("utf-8")


def table(name: str, alias: str) -> exp.Table:
    return n.table(name, alias)


def counted_on(ev: Evaluation, alias: str = "o") -> exp.Expression:
    """The orders that count on the evaluation day: attached to a customer, not a test, placed by
    the end of the day and not cancelled by then (an order stops counting on the day, in the
    store's zone, it is cancelled)."""
    cancelled = n.column("cancelled_at", alias)
    return n.and_(
        n.is_not_null(n.column("customer_id", alias)),
        n.not_(n.column("is_test", alias)),
        n.binary(exp.LT, n.column("placed_at", alias), ev.cutoff),
        n.paren(n.or_(n.is_null(cancelled), n.binary(exp.GTE, cancelled.copy(), ev.cutoff))),
    )


def counted_orders(alias: str = "o") -> exp.Expression:
    """The orders that count today: attached to a customer, not cancelled, not a test."""
    return n.and_(
        n.is_not_null(n.column("customer_id", alias)),
        n.is_null(n.column("cancelled_at", alias)),
        n.not_(n.column("is_test", alias)),
    )


_REFRESH_INDEX = """
UPDATE store.orders AS t
SET customer_order_index = r.idx
FROM (
    SELECT
        o.order_id,
        CASE WHEN :counted THEN ROW_NUMBER() OVER (
            PARTITION BY o.customer_id, :counted ORDER BY o.placed_at, o.order_id
        ) END AS idx
    FROM store.orders AS o
    WHERE :scope
) AS r
WHERE t.order_id = r.order_id AND t.customer_order_index IS DISTINCT FROM r.idx
"""


def refresh_order_index(customer_ids: exp.Expression | None = None) -> exp.Expression:
    """UPDATE recomputing `customer_order_index` for the given customers (a subquery), or all.

    Run it after loading or changing orders; it only writes rows whose index moved. Rules do not
    read the stored index: they derive each order's position as of the evaluated day (facts.py).
    """
    scope: exp.Expression = exp.true()
    if customer_ids is not None:
        scope = exp.column("customer_id", "o").isin(query=customer_ids)
    return exp.replace_placeholders(
        sqlglot.parse_one(_REFRESH_INDEX, read="postgres"),
        counted=exp.paren(counted_orders("o")),
        scope=scope,
    )
