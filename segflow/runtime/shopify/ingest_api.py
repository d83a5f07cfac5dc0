"""`seg ingest shopify-api`: customers and orders from the Admin API into the canonical tables.

Each resource is exported by one bulk query (`bulkOperationRunQuery`, polled to completion, its
JSONL read back; line items arrive as their own lines with `__parentId`). After the first load
only what changed is asked for (`updated_at:>=` the newest `updatedAt` seen, kept in
`segflow.shopify_imports`). Both files are downloaded before anything is written; then one
transaction upserts only rows that differ, replaces the lines of the orders read, and refreshes
`customer_order_index` for the customers whose orders changed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import sqlglot

from segflow.compiler.tables import refresh_order_index
from segflow.runtime.ingest.channels import channel_for
from segflow.runtime.shopify.bulk import await_operation
from segflow.runtime.shopify.client import AdminClient, ShopifyError
from segflow.runtime.shopify.refunds import write_refunds

_CUSTOMERS = """{ customers%(filter)s { edges { node {
  id email firstName lastName phone createdAt updatedAt tags note taxExempt
  defaultAddress { company city province provinceCode country countryCodeV2 zip }
  emailMarketingConsent { marketingState } smsMarketingConsent { marketingState }
} } } }"""

_ORDERS = """{ orders%(filter)s { edges { node {
  id name email createdAt processedAt updatedAt cancelledAt test
  displayFinancialStatus displayFulfillmentStatus currencyCode
  subtotalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } }
  totalShippingPriceSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } }
  totalPriceSet { shopMoney { amount } } totalRefundedSet { shopMoney { amount } }
  sourceName discountCodes tags customer { id }
  refunds { id createdAt totalRefundedSet { shopMoney { amount } } }
  shippingAddress { city provinceCode countryCodeV2 }
  customerJourneySummary { firstVisit { landingPage referrerUrl
    utmParameters { source medium campaign } } }
  lineItems { edges { node { id title quantity sku vendor product { id productType }
    variant { id title } originalUnitPriceSet { shopMoney { amount } }
    totalDiscountSet { shopMoney { amount } } } } }
} } } }"""

_RUN = """mutation Export($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"""

CUSTOMER_COLS = ("email", "first_name", "last_name", "phone", "created_at", "updated_at", "tags",
                 "company", "city", "province", "province_code", "country", "country_code",
                 "zip", "accepts_email_marketing", "accepts_sms_marketing", "tax_exempt", "note")
ORDER_COLS = ("name", "customer_id", "email", "placed_at", "created_at", "updated_at",
              "cancelled_at", "is_test", "financial_status", "fulfillment_status", "currency",
              "subtotal_price", "total_discounts", "total_shipping", "total_tax", "total_price",
              "refunded_amount", "source", "channel", "landing_site", "referring_site",
              "utm_source", "utm_medium", "utm_campaign", "discount_codes", "tags",
              "shipping_city", "shipping_province", "shipping_country")
LINE_COLS = ("product_id", "variant_id", "product", "variant", "sku", "vendor", "product_type",
             "quantity", "price", "discount")


@dataclass
class ApiImport:
    customers: int = 0
    orders: int = 0
    line_items: int = 0
    changed_customers: int = 0
    changed_orders: int = 0
    incremental: bool = False

    def line(self) -> str:
        kind = "changes since the last import" if self.incremental else "full load"
        return (f"Shopify API ({kind}): read {self.customers} customers, {self.orders} orders, "
                f"{self.line_items} line items; changed {self.changed_customers} customers, "
                f"{self.changed_orders} orders")


def _id(gid: str | None) -> int | None:
    return int(gid.rsplit("/", 1)[1]) if gid else None


def _money(node: dict | None) -> Decimal | None:
    amount = ((node or {}).get("shopMoney") or {}).get("amount")
    return Decimal(str(amount)) if amount is not None else None


def export(client: AdminClient, query: str, *, poll_seconds: float = 2.0) -> list[dict]:
    """Run one bulk query to completion; its JSONL objects."""
    body = client.execute(_RUN, {"query": query})
    started = (body.get("data") or {}).get("bulkOperationRunQuery") or {}
    if started.get("userErrors"):
        raise ShopifyError("Shopify refused the bulk query: " + "; ".join(
            str(e.get("message")) for e in started["userErrors"]))
    current = await_operation(client, started["bulkOperation"]["id"], "QUERY",
                              poll_seconds=poll_seconds)
    if current["status"] != "COMPLETED":
        raise ShopifyError(f"the bulk query ended {current['status']} "
                           f"({current.get('errorCode') or 'no error code'}); nothing was written")
    if not current.get("url"):  # no objects matched
        return []
    return [json.loads(x) for x in client.download(current["url"]).splitlines() if x.strip()]


def customer_row(c: dict) -> tuple:
    a = c.get("defaultAddress") or {}
    subscribed = ("SUBSCRIBED",)
    return (_id(c["id"]), c.get("email"), c.get("firstName"), c.get("lastName"), c.get("phone"),
            c.get("createdAt"), c.get("updatedAt"), list(c.get("tags") or []), a.get("company"),
            a.get("city"), a.get("province"), a.get("provinceCode"), a.get("country"),
            a.get("countryCodeV2"), a.get("zip"),
            (c.get("emailMarketingConsent") or {}).get("marketingState") in subscribed,
            (c.get("smsMarketingConsent") or {}).get("marketingState") in subscribed,
            bool(c.get("taxExempt")), c.get("note"))


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def order_row(o: dict) -> tuple:
    visit = ((o.get("customerJourneySummary") or {}).get("firstVisit")) or {}
    utm = visit.get("utmParameters") or {}
    ship = o.get("shippingAddress") or {}
    source = o.get("sourceName")
    return (_id(o["id"]), o.get("name"), _id((o.get("customer") or {}).get("id")), o.get("email"),
            o.get("processedAt") or o.get("createdAt"), o.get("createdAt"), o.get("updatedAt"),
            o.get("cancelledAt"), bool(o.get("test")), _lower(o.get("displayFinancialStatus")),
            _lower(o.get("displayFulfillmentStatus")), o.get("currencyCode"),
            _money(o.get("subtotalPriceSet")), _money(o.get("totalDiscountsSet")) or 0,
            _money(o.get("totalShippingPriceSet")) or 0, _money(o.get("totalTaxSet")) or 0,
            _money(o.get("totalPriceSet")) or 0, _money(o.get("totalRefundedSet")) or 0,
            source, channel_for(source), visit.get("landingPage"), visit.get("referrerUrl"),
            utm.get("source"), utm.get("medium"), utm.get("campaign"),
            list(o.get("discountCodes") or []), list(o.get("tags") or []), ship.get("city"),
            ship.get("provinceCode"), ship.get("countryCodeV2"))


def line_row(order_id: int, line_no: int, li: dict) -> tuple:
    product, variant = li.get("product") or {}, li.get("variant") or {}
    return (order_id, line_no, _id(product.get("id")), _id(variant.get("id")), li.get("title"),
            variant.get("title"), li.get("sku"), li.get("vendor"), product.get("productType"),
            int(li.get("quantity") or 0), _money(li.get("originalUnitPriceSet")),
            _money(li.get("totalDiscountSet")) or 0)


def _upsert(table: str, key: tuple[str, ...], cols: tuple[str, ...], staged: str) -> str:
    """Insert or update only rows that differ (same shape as the CSV import's upserts)."""
    t = ", ".join(f"t.{c}" for c in cols)
    return (f"INSERT INTO {table} AS t ({', '.join(key + cols)})"
            f" SELECT {', '.join(key + cols)} FROM {staged}"
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET ({', '.join(cols)}) ="
            f" ({', '.join('excluded.' + c for c in cols)})"
            f" WHERE ({t}) IS DISTINCT FROM ({', '.join('excluded.' + c for c in cols)})"
            f" RETURNING {'t.customer_id' if 'customer_id' in key + cols else '1'}")


def _since(conn: psycopg.Connection, resource: str) -> dt.datetime | None:
    row = conn.execute("SELECT last_updated_at FROM segflow.shopify_imports"
                       " WHERE resource = %s", (resource,)).fetchone()
    return row[0] if row else None


def _filter(since: dt.datetime | None) -> str:
    if since is None:
        return ""
    stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'(query: "updated_at:>=\'{stamp}\'")'


def import_from_api(conn: psycopg.Connection, client: AdminClient, *, full: bool = False,
                    poll_seconds: float = 2.0) -> ApiImport:
    """Export customers then orders, then write both in one transaction."""
    since = {r: None if full else _since(conn, r) for r in ("customers", "orders")}
    summary = ApiImport(incremental=any(since.values()))
    customers = export(client, _CUSTOMERS % {"filter": _filter(since["customers"])},
                       poll_seconds=poll_seconds)
    objects = export(client, _ORDERS % {"filter": _filter(since["orders"])},
                     poll_seconds=poll_seconds)
    orders = [o for o in objects if "__parentId" not in o]
    lines: list[tuple] = []
    numbers: dict[int, int] = {}
    for li in (o for o in objects if "__parentId" in o):
        order_id = _id(li["__parentId"])
        assert order_id is not None
        numbers[order_id] = numbers.get(order_id, 0) + 1
        lines.append(line_row(order_id, numbers[order_id], li))
    summary.customers, summary.orders, summary.line_items = len(customers), len(orders), len(lines)
    with conn.transaction():
        _write(conn, [customer_row(c) for c in customers], [order_row(o) for o in orders],
               lines, summary)
        write_refunds(conn, orders)  # dated refunds (refunds.py)
        for resource, items in (("customers", customers), ("orders", orders)):
            newest = max((x["updatedAt"] for x in items if x.get("updatedAt")), default=None)
            if newest:
                conn.execute(
                    "INSERT INTO segflow.shopify_imports (resource, last_updated_at) VALUES"
                    " (%s, %s) ON CONFLICT (resource) DO UPDATE SET last_updated_at ="
                    " greatest(segflow.shopify_imports.last_updated_at, EXCLUDED.last_updated_at),"
                    " imported_at = now()", (resource, newest))
    return summary


def _write(conn: psycopg.Connection, customers: list[tuple], orders: list[tuple],
           lines: list[tuple], summary: ApiImport) -> None:
    conn.execute(
        "CREATE TEMP TABLE seg_api_customers ON COMMIT DROP AS SELECT customer_id,"
        f" {', '.join(CUSTOMER_COLS)} FROM store.customers WITH NO DATA;"
        "CREATE TEMP TABLE seg_api_orders ON COMMIT DROP AS SELECT order_id,"
        f" {', '.join(ORDER_COLS)} FROM store.orders WITH NO DATA;"
        "CREATE TEMP TABLE seg_api_lines ON COMMIT DROP AS SELECT order_id, line_no,"
        f" {', '.join(LINE_COLS)} FROM store.order_lines WITH NO DATA;"
        "CREATE TEMP TABLE seg_affected (customer_id bigint) ON COMMIT DROP")
    with conn.cursor() as cur:
        for table, rows in (("seg_api_customers", customers), ("seg_api_orders", orders),
                            ("seg_api_lines", lines)):
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    summary.changed_customers = conn.execute(
        _upsert("store.customers", ("customer_id",), CUSTOMER_COLS, "seg_api_customers")).rowcount
    # customers an order names that no export carried (e.g. a later incremental window)
    conn.execute("INSERT INTO store.customers (customer_id, email) SELECT DISTINCT ON"
                 " (customer_id) customer_id, email FROM seg_api_orders WHERE customer_id IS NOT"
                 " NULL ORDER BY customer_id ON CONFLICT DO NOTHING")
    conn.execute("INSERT INTO seg_affected SELECT o.customer_id FROM store.orders AS o"
                 " JOIN seg_api_orders AS n USING (order_id) WHERE o.customer_id IS NOT NULL")
    upsert_orders = _upsert("store.orders", ("order_id",), ORDER_COLS, "seg_api_orders")
    summary.changed_orders = conn.execute(
        f"WITH up AS ({upsert_orders}) INSERT INTO seg_affected SELECT customer_id FROM up"
    ).rowcount
    conn.execute("DELETE FROM store.order_lines AS l USING seg_api_orders AS n"
                 " WHERE l.order_id = n.order_id AND NOT EXISTS (SELECT 1 FROM seg_api_lines AS x"
                 " WHERE x.order_id = l.order_id AND x.line_no = l.line_no)")
    conn.execute(_upsert("store.order_lines", ("order_id", "line_no"), LINE_COLS,
                         "seg_api_lines"))
    scope = sqlglot.parse_one("SELECT DISTINCT customer_id FROM seg_affected"
                              " WHERE NOT customer_id IS NULL", read="postgres")
    conn.execute(refresh_order_index(scope).sql(dialect="postgres"))
