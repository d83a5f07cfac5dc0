"""`seg ingest shopify-api`: customers and orders from the Admin API into the canonical tables.

The app's granted scopes are checked first: without `read_all_orders` Shopify shows only the
last 60 days of orders, and facts computed from that would be silently wrong, so the import is
refused. Each resource is exported by one bulk query (`bulkOperationRunQuery` with
`groupObjects: false`, polled to completion); its JSONL result is streamed line by line (line
items arrive as their own lines with `__parentId`, before or after their order) and staged in
bounded batches with COPY, so memory stays flat whatever the shop's size. After the first load
only what changed is asked for (`updated_at:>=` the newest `updatedAt` seen, kept in
`segflow.shopify_imports`). Everything happens in one transaction: staging, then upserting only
rows that differ, replacing the lines of the orders read, refreshing `customer_order_index` for
the customers whose orders changed, and moving the cursor. A crash or a broken download leaves
the store as it was, and the next run asks for the same changes again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import sqlglot

from segflow.compiler.tables import refresh_order_index
from segflow.connectors.shopify.bulk import await_operation
from segflow.connectors.shopify.client import AdminClient, ShopifyError
from segflow.errors import SegflowError
from segflow.sources.shopify_api.refunds import REFUND_STAGING, refund_rows, write_refunds
from segflow.sources.shopify_csv.products import variant_title
from segflow.sources.vocab.channels import channel_for_api
from segflow.sources.vocab.discounts import api_titles
from segflow.sources.vocab.statuses import financial_status, fulfillment_status

# Customer.email / phone / emailMarketingConsent / smsMarketingConsent are deprecated since
# 2025-04: defaultEmailAddress and defaultPhoneNumber carry the address and its consent.
_CUSTOMERS = """{ customers%(filter)s { edges { node {
  id firstName lastName createdAt updatedAt tags note taxExempt
  defaultEmailAddress { emailAddress marketingState }
  defaultPhoneNumber { phoneNumber marketingState }
  defaultAddress { company city province provinceCode country countryCodeV2 zip }
} } } }"""

_ORDERS = """{ orders%(filter)s { edges { node {
  id name email createdAt processedAt updatedAt cancelledAt test
  displayFinancialStatus displayFulfillmentStatus currencyCode
  subtotalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } }
  totalShippingPriceSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } }
  totalPriceSet { shopMoney { amount } } totalRefundedSet { shopMoney { amount } }
  sourceName app { name } channelInformation { app { title }
    channelDefinition { handle channelName subChannelName isMarketplace } }
  discountCodes tags customer { id }
  refunds { id createdAt totalRefundedSet { shopMoney { amount } } }
  shippingAddress { city provinceCode countryCodeV2 }
  customerJourneySummary { firstVisit { landingPage referrerUrl
    utmParameters { source medium campaign } } }
  discountApplications { edges { node { __typename
    ... on ManualDiscountApplication { title } ... on AutomaticDiscountApplication { title }
    ... on ScriptDiscountApplication { title } } } }
  lineItems { edges { node { __typename id title variantTitle quantity sku vendor
    product { id title productType tags } variant { id title }
    originalUnitPriceSet { shopMoney { amount } }
    totalDiscountSet { shopMoney { amount } } } } }
} } } }"""

_RUN = """mutation Export($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"""

SCOPES = """{ currentAppInstallation { accessScopes { handle } } }"""
REQUIRED_SCOPES = ("read_customers", "read_orders", "read_all_orders")
BATCH_ROWS = 5000  # rows staged per COPY: what the import holds in memory at a time

CUSTOMER_COLS = ("email", "first_name", "last_name", "phone", "created_at", "updated_at", "tags",
                 "company", "city", "province", "province_code", "country", "country_code",
                 "zip", "accepts_email_marketing", "accepts_sms_marketing", "tax_exempt", "note")
ORDER_COLS = ("name", "customer_id", "email", "placed_at", "created_at", "updated_at",
              "cancelled_at", "is_test", "financial_status", "fulfillment_status", "currency",
              "subtotal_price", "total_discounts", "total_shipping", "total_tax", "total_price",
              "refunded_amount", "source", "channel", "landing_site", "referring_site",
              "utm_source", "utm_medium", "utm_campaign", "discount_codes", "tags",
              "shipping_city", "shipping_province", "shipping_country", "discount_titles")
LINE_COLS = ("product_id", "variant_id", "product", "variant", "sku", "vendor", "product_type",
             "quantity", "price", "discount", "product_tags")


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


def export_lines(client: AdminClient, query: str, *,
                 poll_seconds: float = 2.0) -> Iterator[dict]:
    """Run one bulk query to completion; its JSONL objects, streamed one at a time."""
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
        return
    for line in client.stream_lines(current["url"]):
        yield json.loads(line)


def export(client: AdminClient, query: str, *, poll_seconds: float = 2.0) -> list[dict]:
    """Run one bulk query to completion; its JSONL objects (small exports, tests)."""
    return list(export_lines(client, query, poll_seconds=poll_seconds))


def granted_scopes(client: AdminClient) -> set[str]:
    """The access scopes the app holds on this shop (`currentAppInstallation`)."""
    data = (client.execute(SCOPES, {}).get("data") or {}).get("currentAppInstallation") or {}
    return {str(s.get("handle")) for s in data.get("accessScopes") or []}


def check_scopes(client: AdminClient) -> None:
    """Refuse an import Shopify would silently truncate (no read_all_orders) or refuse."""
    missing = [s for s in REQUIRED_SCOPES if s not in granted_scopes(client)]
    if not missing:
        return
    why = (" Without read_all_orders Shopify shows only the last 60 days of orders, so first "
           "orders, order counts and lifetime value would be computed from a cut history."
           if "read_all_orders" in missing else "")
    raise SegflowError(
        f"the Shopify app lacks the access scope{'s' if len(missing) > 1 else ''} "
        f"{', '.join(missing)}: nothing was imported.{why} Grant "
        f"{'them' if len(missing) > 1 else 'it'} to the app (Dev Dashboard: the app's version, "
        "Access scopes; read_all_orders must first be requested in the app's API access "
        "settings), release and reinstall, then import again (docs/shopify.md)")


def customer_row(c: dict) -> tuple:
    a = c.get("defaultAddress") or {}
    mail = c.get("defaultEmailAddress") or {}
    phone = c.get("defaultPhoneNumber") or {}
    subscribed = ("SUBSCRIBED",)
    return (_id(c["id"]), mail.get("emailAddress"), c.get("firstName"), c.get("lastName"),
            phone.get("phoneNumber"), c.get("createdAt"), c.get("updatedAt"),
            list(c.get("tags") or []), a.get("company"), a.get("city"), a.get("province"),
            a.get("provinceCode"), a.get("country"), a.get("countryCodeV2"), a.get("zip"),
            mail.get("marketingState") in subscribed, phone.get("marketingState") in subscribed,
            bool(c.get("taxExempt")), c.get("note"))


def order_row(o: dict) -> tuple:
    visit = ((o.get("customerJourneySummary") or {}).get("firstVisit")) or {}
    utm = visit.get("utmParameters") or {}
    ship = o.get("shippingAddress") or {}
    source = o.get("sourceName")
    return (_id(o["id"]), o.get("name"), _id((o.get("customer") or {}).get("id")), o.get("email"),
            o.get("processedAt") or o.get("createdAt"), o.get("createdAt"), o.get("updatedAt"),
            o.get("cancelledAt"), bool(o.get("test")),
            financial_status(o.get("displayFinancialStatus")),
            fulfillment_status(o.get("displayFulfillmentStatus")), o.get("currencyCode"),
            _money(o.get("subtotalPriceSet")), _money(o.get("totalDiscountsSet")) or 0,
            _money(o.get("totalShippingPriceSet")) or 0, _money(o.get("totalTaxSet")) or 0,
            _money(o.get("totalPriceSet")) or 0, _money(o.get("totalRefundedSet")) or 0,
            source, channel_for_api(source, o), visit.get("landingPage"),
            visit.get("referrerUrl"), utm.get("source"), utm.get("medium"), utm.get("campaign"),
            list(o.get("discountCodes") or []), list(o.get("tags") or []), ship.get("city"),
            ship.get("provinceCode"), ship.get("countryCodeV2"),
            api_titles(o.get("discountApplications") or []))


def line_row(order_id: int, line_no: int, li: dict) -> tuple:
    """A line item: `product` is the product's title (the line's `title` when the product was
    deleted), `variant` the variant's title, NULL for a product without variants."""
    product, variant = li.get("product") or {}, li.get("variant") or {}
    return (order_id, line_no, _id(product.get("id")), _id(variant.get("id")),
            product.get("title") or li.get("title"),
            variant_title(variant.get("title") or li.get("variantTitle")), li.get("sku"),
            li.get("vendor"), product.get("productType"), int(li.get("quantity") or 0),
            _money(li.get("originalUnitPriceSet")), _money(li.get("totalDiscountSet")) or 0,
            list(product.get("tags") or []))


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
                    poll_seconds: float = 2.0, batch_rows: int = BATCH_ROWS) -> ApiImport:
    """Check the scopes, export customers then orders, stage and write them in one transaction."""
    check_scopes(client)
    since = {r: None if full else _since(conn, r) for r in ("customers", "orders")}
    summary = ApiImport(incremental=any(since.values()))
    with conn.transaction():
        _create_staging(conn)
        stage = _Stager(conn, batch_rows)
        newest = {
            "customers": stage.customers(export_lines(
                client, _CUSTOMERS % {"filter": _filter(since["customers"])},
                poll_seconds=poll_seconds)),
            "orders": stage.orders(export_lines(
                client, _ORDERS % {"filter": _filter(since["orders"])},
                poll_seconds=poll_seconds))}
        summary.customers, summary.orders, summary.line_items = (
            stage.counts["customers"], stage.counts["orders"], stage.counts["lines"])
        _write(conn, summary)
        write_refunds(conn)  # dated refunds (refunds.py)
        for resource, stamp in newest.items():
            if stamp:
                conn.execute(
                    "INSERT INTO segflow.shopify_imports (resource, last_updated_at) VALUES"
                    " (%s, %s) ON CONFLICT (resource) DO UPDATE SET last_updated_at ="
                    " greatest(segflow.shopify_imports.last_updated_at, EXCLUDED.last_updated_at),"
                    " imported_at = now()", (resource, stamp))
    return summary


def _create_staging(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE TEMP TABLE seg_api_customers ON COMMIT DROP AS SELECT customer_id,"
        f" {', '.join(CUSTOMER_COLS)} FROM store.customers WITH NO DATA;"
        "CREATE TEMP TABLE seg_api_orders ON COMMIT DROP AS SELECT order_id,"
        f" {', '.join(ORDER_COLS)} FROM store.orders WITH NO DATA;"
        "CREATE TEMP TABLE seg_api_lines_read ON COMMIT DROP AS SELECT 0::bigint AS seq,"
        f" order_id, line_no, {', '.join(LINE_COLS)} FROM store.order_lines WITH NO DATA;"
        "CREATE TEMP TABLE seg_api_discounts (seq bigint, order_id bigint, title text)"
        " ON COMMIT DROP;"
        "CREATE TEMP TABLE seg_affected (customer_id bigint) ON COMMIT DROP;" + REFUND_STAGING)


class _Stager:
    """Rows into the staging tables, `batch_rows` at a time through COPY."""

    def __init__(self, conn: psycopg.Connection, batch_rows: int):
        self.conn, self.batch_rows = conn, batch_rows
        self.counts = {"customers": 0, "orders": 0, "lines": 0, "children": 0}
        self.pending: dict[str, list[tuple]] = {"seg_api_customers": [], "seg_api_orders": [],
                                                "seg_api_lines_read": [], "seg_api_discounts": [],
                                                "seg_api_refunds": []}

    def _add(self, table: str, row: tuple) -> None:
        rows = self.pending[table]
        rows.append(row)
        if len(rows) >= self.batch_rows:
            self.flush(table)

    def flush(self, table: str) -> None:
        rows = self.pending[table]
        if rows:
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            rows.clear()

    def customers(self, objects: Iterator[dict]) -> str | None:
        return self._each(objects, lambda c: (self._add("seg_api_customers", customer_row(c)),
                                              self._count("customers")))

    def orders(self, objects: Iterator[dict]) -> str | None:
        """Orders and their nested connections, which arrive as their own objects with
        `__parentId`, before or after their order: line items (`LineItem` ids) are numbered by
        their place in the file; discount applications (no id) give the order's titles."""
        def one(obj: dict) -> None:
            parent = obj.get("__parentId")
            if parent is None:
                self._add("seg_api_orders", order_row(obj))
                for refund in refund_rows(obj):
                    self._add("seg_api_refunds", refund)
                self._count("orders")
                return
            order_id = _id(parent)
            assert order_id is not None
            self._count("children")
            if str(obj.get("id", "")).startswith("gid://shopify/LineItem/"):
                self._count("lines")
                self._add("seg_api_lines_read", (self.counts["children"],
                                                 *line_row(order_id, 0, obj)))
            else:
                for title in api_titles([obj]):
                    self._add("seg_api_discounts", (self.counts["children"], order_id, title))
        return self._each(objects, one)

    def _count(self, what: str) -> None:
        self.counts[what] += 1

    def _each(self, objects: Iterator[dict], one: Callable[[dict], object]) -> str | None:
        """Stage every object; the newest `updatedAt` of the parents."""
        newest: str | None = None
        for obj in objects:
            one(obj)
            stamp = obj.get("updatedAt") if "__parentId" not in obj else None
            if stamp and (newest is None or stamp > newest):
                newest = stamp
        for table in self.pending:
            self.flush(table)
        return newest


def _write(conn: psycopg.Connection, summary: ApiImport) -> None:
    """Upsert the staged rows into the store tables (only rows that differ)."""
    conn.execute(
        "CREATE TEMP TABLE seg_api_lines ON COMMIT DROP AS SELECT order_id, row_number() OVER"
        f" (PARTITION BY order_id ORDER BY seq)::int AS line_no, {', '.join(LINE_COLS)}"
        " FROM seg_api_lines_read")
    # an order's discount titles, from its discount-application objects, in file order
    conn.execute(
        "UPDATE seg_api_orders AS o SET discount_titles = d.titles FROM (SELECT order_id,"
        " array_agg(title ORDER BY seq) AS titles FROM (SELECT order_id, title, min(seq) AS seq"
        " FROM seg_api_discounts GROUP BY order_id, title) AS t GROUP BY order_id) AS d"
        " WHERE o.order_id = d.order_id")
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
