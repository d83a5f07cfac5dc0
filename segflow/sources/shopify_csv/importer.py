"""Import Shopify's CSV exports (customers_export.csv, orders_export.csv) into the store tables.

Everything happens in one transaction: rows are COPYed into temporary staging tables while the
files are read and checked, then each canonical table gets one set-based upsert that only writes
rows that differ, an order's lines are replaced, and `customer_order_index` is refreshed for the
customers whose orders changed. A bad row anywhere raises one SegflowError listing every bad row
(file, line, reason) and rolls everything back, unless `skip_bad_rows`.

How the export maps onto the canonical tables: docs/data.md.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlglot

from segflow.compiler.tables import refresh_order_index
from segflow.errors import Diagnostic, SegflowError
from segflow.sources.shopify_csv.parsing import CsvFile, Progress, parse_customers, parse_orders
from segflow.sources.shopify_csv.products import Catalog, parse_products, split_names
from segflow.sources.shopify_csv.reconcile import Reconciliation, reconcile


@dataclass
class ImportSummary:
    customers: int = 0  # customer rows loaded from the customers file
    customers_from_orders: int = 0  # customers created from an order email matching none
    orders: int = 0
    line_items: int = 0
    orders_without_customer: int = 0  # orders matched to no customer (no email, no known phone)
    skipped_rows: int = 0  # bad rows skipped (skip_bad_rows)
    skipped_orders: int = 0  # orders left out because one of their rows was bad
    changed_customers: int = 0  # rows actually inserted or updated
    changed_orders: int = 0
    changed_line_items: int = 0
    skipped: list[Diagnostic] = field(default_factory=list)
    # what the files could not say (printed by `seg ingest` under the summary line)
    lines_from_catalog: int = 0  # matched to the products export
    lines_split: int = 0  # no catalog match: split into product and variant at the last " - "
    lines_whole: int = 0  # no catalog match: the whole line name is the product
    orders_by_phone: int = 0  # email-less orders linked to a customer by phone
    app_source_orders: int = 0  # numeric source (an app id) whose channel stays `other`
    currencies: dict[str, int] = field(default_factory=dict)  # store.orders by currency
    reconcile: Reconciliation | None = None

    def line(self) -> str:
        text = (f"imported {self.customers} customers"
                f"{f' (+{self.customers_from_orders} from order emails)' if self.customers_from_orders else ''}, "
                f"{self.orders} orders, {self.line_items} line items; "
                f"{self.orders_without_customer} orders without customer; "
                f"{self.skipped_rows} bad rows skipped")
        if self.skipped_orders:
            text += f" ({self.skipped_orders} orders left out)"
        return text + (f"; changed: {self.changed_customers} customers, {self.changed_orders} "
                       f"orders, {self.changed_line_items} line items")

    def notes(self) -> list[str]:
        """What the import could not know from the files, one sentence each."""
        out = []
        guessed = self.lines_split + self.lines_whole
        if guessed:
            out.append(f"{_n(guessed, 'line')} without a catalog: product split from the line name "
                       f"({self.lines_split:,} into product and variant, {self.lines_whole:,} "
                       "kept whole; give --products products_export.csv to match them)")
        if self.orders_by_phone:
            out.append(f"{_n(self.orders_by_phone, 'order')} without email linked to their "
                       "customer by phone")
        if self.app_source_orders:
            out.append(f"{_n(self.app_source_orders, 'order')} from an app known only by its id "
                       "(numeric Source): channel 'other' (an API import names the app)")
        if len(self.currencies) > 1:
            mix = ", ".join(f"{c} {n:,}" for c, n in sorted(self.currencies.items(),
                                                           key=lambda x: (-x[1], x[0])))
            out.append(f"warning: orders in {len(self.currencies)} currencies ({mix}): amounts "
                       "are each in their order's currency and are summed unconverted")
        if self.reconcile is not None and self.reconcile.differ:
            out.append(self.reconcile.sentence())
        return out


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


STAGING = """
CREATE TEMP TABLE seg_stg_customers (
    customer_id bigint, email text, first_name text, last_name text, phone text, tags text[],
    company text, city text, province text, province_code text, country text,
    country_code text, zip text, accepts_email_marketing boolean, accepts_sms_marketing boolean,
    tax_exempt boolean, note text, phone_key text, total_orders integer, total_spent numeric
) ON COMMIT DROP;
CREATE TEMP TABLE seg_stg_orders (
    order_id bigint, name text, email text, email_key text, fallback_customer_id bigint,
    created_at timestamptz, cancelled_at timestamptz, financial_status text,
    fulfillment_status text, currency text, subtotal_price numeric, total_discounts numeric,
    total_shipping numeric, total_tax numeric, total_price numeric, refunded_amount numeric,
    source text, channel text, discount_codes text[], tags text[], shipping_city text,
    shipping_province text, shipping_country text, discount_titles text[], phone_key text
) ON COMMIT DROP;
CREATE TEMP TABLE seg_stg_lines (
    order_id bigint, line_no integer, product text, sku text, vendor text, quantity integer,
    price numeric, discount numeric, variant text, product_type text,
    product_tags text[] NOT NULL DEFAULT '{}'
) ON COMMIT DROP;
CREATE TEMP TABLE seg_line_names (
    name text, sku text, product text, variant text, product_type text, vendor text, how text,
    tags text[]
) ON COMMIT DROP;
CREATE TEMP TABLE seg_affected (customer_id bigint) ON COMMIT DROP;
"""

CUSTOMER_COLS = ("email", "first_name", "last_name", "phone", "tags", "company", "city",
                 "province", "province_code", "country", "country_code", "zip",
                 "accepts_email_marketing", "accepts_sms_marketing", "tax_exempt", "note")

UPSERT_CUSTOMERS = f"""
INSERT INTO store.customers AS t (customer_id, {", ".join(CUSTOMER_COLS)})
SELECT customer_id, {", ".join(CUSTOMER_COLS)} FROM seg_stg_customers AS n
WHERE NOT EXISTS (  -- unchanged rows never reach the (slower) conflict path
    SELECT 1 FROM store.customers AS t WHERE t.customer_id = n.customer_id
    AND ({", ".join("t." + c for c in CUSTOMER_COLS)}) IS NOT DISTINCT FROM
        ({", ".join("n." + c for c in CUSTOMER_COLS)}))
ON CONFLICT (customer_id) DO UPDATE SET ({", ".join(CUSTOMER_COLS)}) =
    ({", ".join("excluded." + c for c in CUSTOMER_COLS)})
WHERE ({", ".join("t." + c for c in CUSTOMER_COLS)}) IS DISTINCT FROM
    ({", ".join("excluded." + c for c in CUSTOMER_COLS)})
"""

# Order emails matching no customer: a customer with that email and a derived id.
CUSTOMERS_FROM_EMAILS = """
INSERT INTO store.customers (customer_id, email)
SELECT DISTINCT ON (s.email_key) s.fallback_customer_id, s.email
FROM seg_stg_orders AS s
WHERE s.email_key IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM store.customers AS c WHERE lower(c.email) = s.email_key)
ORDER BY s.email_key, s.order_id
ON CONFLICT (customer_id) DO NOTHING
"""

# Each order email -> its customer (Shopify's own ids before derived ones, then the lowest).
EMAIL_MAP = """
CREATE TEMP TABLE seg_email_map ON COMMIT DROP AS
SELECT DISTINCT ON (lower(c.email)) lower(c.email) AS email_key, c.customer_id
FROM store.customers AS c
WHERE lower(c.email) IN (SELECT email_key FROM seg_stg_orders)
ORDER BY lower(c.email), c.customer_id < 0, c.customer_id
"""

ORDER_COLS = ("name", "customer_id", "email", "placed_at", "created_at", "cancelled_at",
              "financial_status", "fulfillment_status", "currency", "subtotal_price",
              "total_discounts", "total_shipping", "total_tax", "total_price", "refunded_amount",
              "source", "channel", "discount_codes", "tags", "shipping_city",
              "shipping_province", "shipping_country", "customer_order_index", "discount_titles")

# Each phone of an email-less order -> the customer with that phone (digits compared; Shopify's
# own ids before derived ones, then the lowest).
PHONE_MAP = """
CREATE TEMP TABLE seg_phone_map ON COMMIT DROP AS
SELECT DISTINCT ON (k.phone_key) k.phone_key, c.customer_id
FROM (SELECT DISTINCT phone_key FROM seg_stg_orders
      WHERE email_key IS NULL AND phone_key IS NOT NULL) AS k
JOIN store.customers AS c ON regexp_replace(c.phone, '[^0-9]', '', 'g') = k.phone_key
ORDER BY k.phone_key, c.customer_id < 0, c.customer_id
"""

# The staged orders with their customer resolved: by email, else (no email) by phone.
RESOLVED_ORDERS = """
CREATE TEMP TABLE seg_orders ON COMMIT DROP AS
SELECT s.*, coalesce(m.customer_id, p.customer_id) AS customer_id,
       m.customer_id IS NULL AND p.customer_id IS NOT NULL AS by_phone
FROM seg_stg_orders AS s
LEFT JOIN seg_email_map AS m ON m.email_key = s.email_key
LEFT JOIN seg_phone_map AS p ON s.email_key IS NULL AND p.phone_key = s.phone_key
"""

# A numeric source is the id of the app that made the order; the export does not name it. When
# an API import already loaded orders of that app with a known channel, use that channel.
LEARNED_CHANNELS = """
UPDATE seg_stg_orders AS s SET channel = k.channel
FROM (SELECT DISTINCT ON (source) source, channel
      FROM store.orders
      WHERE source ~ '^[0-9]+$' AND channel IS NOT NULL AND channel <> 'other'
      GROUP BY source, channel ORDER BY source, count(*) DESC, channel) AS k
WHERE s.source = k.source AND s.channel = 'other'
"""

# `customer_order_index` of the staged orders, computed before they are written so a first
# import does not write every order twice. Only an optimisation: `refresh_order_index` (the
# definition) runs afterwards and corrects whatever this got wrong.
STAGED_INDEX = """
CREATE TEMP TABLE seg_order_index ON COMMIT DROP AS
SELECT x.order_id,
       CASE WHEN x.counted THEN ROW_NUMBER() OVER (
           PARTITION BY x.customer_id, x.counted ORDER BY x.placed_at, x.order_id) END AS idx,
       x.staged
FROM (
    SELECT n.order_id, n.customer_id, n.created_at AS placed_at, true AS staged,
           n.customer_id IS NOT NULL AND n.cancelled_at IS NULL AND NOT coalesce(o.is_test, false)
               AS counted
    FROM seg_orders AS n LEFT JOIN store.orders AS o USING (order_id)
    UNION ALL
    SELECT o.order_id, o.customer_id, o.placed_at, false,
           o.cancelled_at IS NULL AND NOT o.is_test
    FROM store.orders AS o
    WHERE o.customer_id IN (SELECT customer_id FROM seg_orders)
      AND NOT EXISTS (SELECT 1 FROM seg_orders AS n WHERE n.order_id = o.order_id)
) AS x
"""

MOVED_CUSTOMERS = """
INSERT INTO seg_affected
SELECT o.customer_id
FROM store.orders AS o
JOIN seg_orders AS s USING (order_id)
WHERE o.customer_id IS NOT NULL AND o.customer_id IS DISTINCT FROM s.customer_id
"""

UPSERT_ORDERS = f"""
WITH up AS (
    INSERT INTO store.orders AS t (order_id, {", ".join(ORDER_COLS)})
    SELECT * FROM (
        SELECT s.order_id, s.name, s.customer_id, s.email, s.created_at AS placed_at,
               s.created_at, s.cancelled_at, s.financial_status, s.fulfillment_status,
               s.currency, s.subtotal_price, coalesce(s.total_discounts, 0) AS total_discounts,
               coalesce(s.total_shipping, 0) AS total_shipping,
               coalesce(s.total_tax, 0) AS total_tax, coalesce(s.total_price, 0) AS total_price,
               coalesce(s.refunded_amount, 0) AS refunded_amount, s.source, s.channel,
               s.discount_codes, s.tags, s.shipping_city, s.shipping_province,
               s.shipping_country, i.idx AS customer_order_index, s.discount_titles
        FROM seg_orders AS s
        LEFT JOIN seg_order_index AS i ON i.order_id = s.order_id AND i.staged
    ) AS n
    WHERE NOT EXISTS (
        SELECT 1 FROM store.orders AS t WHERE t.order_id = n.order_id
        AND ({", ".join("t." + c for c in ORDER_COLS)}) IS NOT DISTINCT FROM
            ({", ".join("n." + c for c in ORDER_COLS)}))
    ON CONFLICT (order_id) DO UPDATE SET ({", ".join(ORDER_COLS)}) =
        ({", ".join("excluded." + c for c in ORDER_COLS)})
    WHERE ({", ".join("t." + c for c in ORDER_COLS)}) IS DISTINCT FROM
        ({", ".join("excluded." + c for c in ORDER_COLS)})
    RETURNING t.customer_id
)
INSERT INTO seg_affected SELECT customer_id FROM up
"""

LINE_COLS = ("product", "sku", "vendor", "quantity", "price", "discount", "variant",
             "product_type", "product_tags")

DELETE_OLD_LINES = """
DELETE FROM store.order_lines AS l
USING seg_orders AS s
WHERE l.order_id = s.order_id
  AND NOT EXISTS (SELECT 1 FROM seg_stg_lines AS n
                  WHERE n.order_id = l.order_id AND n.line_no = l.line_no)
"""

UPSERT_LINES = f"""
INSERT INTO store.order_lines AS t (order_id, line_no, {", ".join(LINE_COLS)})
SELECT n.order_id, n.line_no, n.product, n.sku, n.vendor, n.quantity, n.price,
       coalesce(n.discount, 0), n.variant, n.product_type, n.product_tags
FROM seg_stg_lines AS n
WHERE NOT EXISTS (
    SELECT 1 FROM store.order_lines AS t WHERE t.order_id = n.order_id AND t.line_no = n.line_no
    AND ({", ".join("t." + c for c in LINE_COLS)}) IS NOT DISTINCT FROM
        (n.product, n.sku, n.vendor, n.quantity, n.price, coalesce(n.discount, 0), n.variant,
         n.product_type, n.product_tags))
ON CONFLICT (order_id, line_no) DO UPDATE SET ({", ".join(LINE_COLS)}) =
    ({", ".join("excluded." + c for c in LINE_COLS)})
WHERE ({", ".join("t." + c for c in LINE_COLS)}) IS DISTINCT FROM
    ({", ".join("excluded." + c for c in LINE_COLS)})
"""


def _display(path: Path) -> str:
    return str(path)


def import_shopify_csv(conn: psycopg.Connection, customers: Path | None, orders: Path | None, *,
                       products: Path | None = None, skip_bad_rows: bool = False,
                       progress: Progress | None = None, timezone: str | None = None
                       ) -> ImportSummary:
    """Load Shopify's customers and/or orders exports into the store tables, in one transaction.

    `products` (products_export.csv) is the catalog line items are matched to; without it the
    product and variant come from the line name (docs/data.md). `timezone` is the zone of
    timestamps written without an offset (the store's); exports normally carry one. Raises
    SegflowError listing every bad row unless `skip_bad_rows`.
    """
    if customers is None and orders is None:
        raise SegflowError("nothing to import: give a customers file, an orders file or both")
    # Parsing makes millions of short-lived containers: the cyclic GC would rescan the growing
    # heap over and over (it doubled the import time); nothing here makes reference cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(conn, customers, orders, products, skip_bad_rows, progress, timezone)
    except psycopg.errors.DataError as exc:  # the checks above let through what it refuses
        raise SegflowError(_refused(exc)) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _stage(cur: psycopg.Cursor, customers: Path | None, orders: Path | None,
           products: Path | None, progress: Progress | None
           ) -> tuple[list[Diagnostic], set[int], Catalog | None]:
    """Read and check the files into the staging tables; (bad rows, bad order ids, catalog)."""
    problems: list[Diagnostic] = []
    bad_orders: set[int] = set()
    catalog = None
    if products is not None:
        f = CsvFile(Path(products), _display(Path(products)), progress, "products")
        catalog = parse_products(f)
        problems += f.diagnostics
    if customers is not None:
        f = CsvFile(Path(customers), _display(Path(customers)), progress, "customers")
        rows = parse_customers(f)
        problems += f.diagnostics
        with cur.copy("COPY seg_stg_customers FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    if orders is not None:
        f = CsvFile(Path(orders), _display(Path(orders)), progress, "orders")
        with cur.copy("COPY seg_stg_lines (order_id, line_no, product, sku, vendor, quantity,"
                      " price, discount) FROM STDIN") as copy:
            result = parse_orders(f, copy.write_row)
        problems += f.diagnostics
        with cur.copy("COPY seg_stg_orders FROM STDIN") as copy:
            for row in result.orders:
                copy.write_row(row)
        bad_orders = result.bad_orders
    return problems, bad_orders, catalog


def _resolve_lines(cur: psycopg.Cursor, catalog: Catalog | None, summary: ImportSummary) -> None:
    """Product, variant and product type of the staged lines from their names (products.py)."""
    pairs = cur.execute("SELECT DISTINCT product, sku FROM seg_stg_lines"
                        " WHERE product IS NOT NULL").fetchall()
    split = split_names(name for name, _ in pairs)
    with cur.copy("COPY seg_line_names FROM STDIN") as copy:
        for name, sku in pairs:
            m = (catalog.match(name, sku) if catalog else None) or split[name]
            copy.write_row((name, sku or "", m.product, m.variant, m.product_type, m.vendor,
                            m.how, list(m.tags)))
    counts = dict(cur.execute(
        "WITH up AS (UPDATE seg_stg_lines AS l SET product = m.product, variant = m.variant,"
        " product_type = m.product_type, vendor = coalesce(l.vendor, m.vendor),"
        " product_tags = m.tags"
        " FROM seg_line_names AS m WHERE m.name = l.product AND m.sku = coalesce(l.sku, '')"
        " RETURNING m.how) SELECT how, count(*) FROM up GROUP BY how").fetchall())
    summary.lines_from_catalog = counts.get("catalog", 0)
    summary.lines_split = counts.get("split", 0)
    summary.lines_whole = counts.get("whole", 0)


def _import(conn: psycopg.Connection, customers: Path | None, orders: Path | None,
            products: Path | None, skip_bad_rows: bool, progress: Progress | None,
            timezone: str | None) -> ImportSummary:
    summary = ImportSummary()
    with conn.transaction():
        cur = conn.cursor()
        if timezone:
            cur.execute("SELECT set_config('TimeZone', %s, true)", (timezone,))
        cur.execute(STAGING)
        problems, bad_orders, catalog = _stage(cur, customers, orders, products, progress)
        if problems and not skip_bad_rows:
            raise SegflowError(problems)  # rolls the transaction back: nothing loaded
        summary.skipped = problems
        summary.skipped_rows = len(problems)
        summary.skipped_orders = len(bad_orders)
        if bad_orders:
            cur.execute("DELETE FROM seg_stg_orders WHERE order_id = ANY(%s)", (list(bad_orders),))
            cur.execute("DELETE FROM seg_stg_lines WHERE order_id = ANY(%s)", (list(bad_orders),))
        cur.execute("SET LOCAL default_statistics_target = 10")  # small samples suffice here
        cur.execute("ANALYZE seg_stg_customers; ANALYZE seg_stg_orders; ANALYZE seg_stg_lines")
        summary.customers = _count(cur, "seg_stg_customers")
        summary.orders = _count(cur, "seg_stg_orders")
        summary.line_items = _count(cur, "seg_stg_lines")

        summary.changed_customers = cur.execute(UPSERT_CUSTOMERS).rowcount
        if orders is not None:
            _write_orders(cur, catalog, summary)
        if customers is not None:
            summary.reconcile = reconcile(cur)
        summary.currencies = dict(cur.execute(
            "SELECT currency, count(*) FROM store.orders WHERE currency IS NOT NULL"
            " GROUP BY currency").fetchall())
        cur.execute("DROP TABLE IF EXISTS seg_stg_customers, seg_stg_orders, seg_stg_lines, "
                    "seg_line_names, seg_affected, seg_email_map, seg_phone_map, seg_orders, "
                    "seg_order_index")
    return summary


def _write_orders(cur: psycopg.Cursor, catalog: Catalog | None, summary: ImportSummary) -> None:
    """Customers from order emails, the orders resolved to customers, their lines."""
    _resolve_lines(cur, catalog, summary)
    cur.execute(LEARNED_CHANNELS)
    summary.app_source_orders = _count(
        cur, "seg_stg_orders WHERE source ~ '^[0-9]+$' AND channel = 'other'")
    summary.customers_from_orders = cur.execute(CUSTOMERS_FROM_EMAILS).rowcount
    summary.changed_customers += summary.customers_from_orders
    cur.execute(EMAIL_MAP)
    if _count(cur, "seg_stg_orders WHERE email_key IS NULL AND phone_key IS NOT NULL"):
        cur.execute(PHONE_MAP)  # reads every customer's phone: only when an order needs it
    else:
        cur.execute("CREATE TEMP TABLE seg_phone_map (phone_key text, customer_id bigint)"
                    " ON COMMIT DROP")
    cur.execute(RESOLVED_ORDERS)
    cur.execute("ANALYZE seg_orders")
    summary.orders_without_customer = _count(cur, "seg_orders WHERE customer_id IS NULL")
    summary.orders_by_phone = _count(cur, "seg_orders WHERE by_phone")
    cur.execute(STAGED_INDEX)
    cur.execute(MOVED_CUSTOMERS)
    summary.changed_orders = cur.execute(UPSERT_ORDERS).rowcount
    deleted = cur.execute(DELETE_OLD_LINES).rowcount
    summary.changed_line_items = deleted + cur.execute(UPSERT_LINES).rowcount
    scope = sqlglot.parse_one("SELECT DISTINCT customer_id FROM seg_affected"
                              " WHERE NOT customer_id IS NULL", read="postgres")
    cur.execute(refresh_order_index(scope).sql(dialect="postgres"))


def _refused(exc: psycopg.Error) -> str:
    """A database refusal of a staged value, for people: nothing was loaded (rolled back)."""
    where = f" ({exc.diag.context.strip()})" if exc.diag.context else ""
    return (f"the database refused a value while loading: {exc.diag.message_primary}{where}; "
            "nothing was loaded. segflow's checks should have reported it as a bad row: "
            "please report this as a bug")


def _count(cur: psycopg.Cursor, what: str) -> int:
    row = cur.execute(f"SELECT count(*) FROM {what}").fetchone()
    return int(row[0]) if row else 0
