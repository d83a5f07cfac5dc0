"""The customers export's own figures (`Total Orders`, `Total Spent`) against what was imported.

Shopify counts a customer's orders and money over their whole history; segflow counts the
imported orders that count (not cancelled, not test) and their amounts less refunds. After a
CSV import with a customers file, every customer of that file whose figures differ is counted
under the first reason that explains it (docs/data.md); `seg ingest` prints the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

# (key, what `seg ingest` says) in the order they are tried
REASONS = (
    ("currency", "with orders in another currency than the store's main one"),
    ("missing", "with orders missing from the imported orders (outside the export's dates?)"),
    ("cancelled", "whose cancelled or test orders Shopify counts and segflow does not"),
    ("extra", "with more imported orders than Shopify counts"),
    ("amount", "whose amounts differ (refunds, edited orders)"),
)

_CHECK = """
WITH main AS (
    SELECT currency FROM store.orders WHERE currency IS NOT NULL
    GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1
), o AS (
    SELECT o.customer_id, count(*) AS n_all,
           count(*) FILTER (WHERE o.cancelled_at IS NULL AND NOT o.is_test) AS n_counted,
           coalesce(sum(o.net_amount) FILTER (WHERE o.cancelled_at IS NULL AND NOT o.is_test), 0)
               AS spent,
           bool_or(o.currency <> (SELECT currency FROM main)) AS foreign_currency
    FROM store.orders AS o
    WHERE o.customer_id IN (SELECT customer_id FROM seg_stg_customers
                            WHERE total_orders IS NOT NULL)
    GROUP BY o.customer_id
), r AS (
    SELECT CASE
        WHEN coalesce(o.n_counted, 0) = c.total_orders
             AND (c.total_spent IS NULL OR abs(coalesce(o.spent, 0) - c.total_spent) < 0.005)
            THEN NULL
        WHEN coalesce(o.foreign_currency, false) THEN 'currency'
        WHEN coalesce(o.n_all, 0) < c.total_orders THEN 'missing'
        WHEN o.n_counted < c.total_orders THEN 'cancelled'
        WHEN o.n_counted > c.total_orders THEN 'extra'
        ELSE 'amount' END AS reason
    FROM seg_stg_customers AS c LEFT JOIN o USING (customer_id)
    WHERE c.total_orders IS NOT NULL
)
SELECT reason, count(*) FROM r GROUP BY reason
"""


@dataclass
class Reconciliation:
    checked: int = 0  # customers of the file with Shopify's figures
    reasons: dict[str, int] = field(default_factory=dict)  # reason key -> customers

    @property
    def differ(self) -> int:
        return sum(self.reasons.values())

    def sentence(self) -> str:
        parts = [f"{self.reasons[key]:,} {text}" for key, text in REASONS if key in self.reasons]
        return (f"{self.differ:,} of {self.checked:,} customers differ from Shopify's Total "
                f"Orders / Total Spent: {'; '.join(parts)}")


def reconcile(cur: psycopg.Cursor) -> Reconciliation | None:
    """Compare the staged customers' figures with the store; None when there is nothing to
    compare (no figures in the file, or no orders imported yet)."""
    if cur.execute("SELECT NOT EXISTS (SELECT 1 FROM store.orders)").fetchone()[0]:
        return None
    result = Reconciliation()
    for reason, n in cur.execute(_CHECK).fetchall():
        result.checked += n
        if reason is not None:
            result.reasons[reason] = n
    return result if result.checked else None
