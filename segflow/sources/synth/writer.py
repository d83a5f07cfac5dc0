"""Writing a synthetic store: COPY straight into the canonical tables, or Shopify export CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from segflow.compiler.tables import CUSTOMERS, ORDER_LINES, ORDERS, REFUNDS, refresh_order_index
from segflow.sources.synth import catalog as c
from segflow.sources.synth.model import (
    C_ACCEPTS_EMAIL,
    C_EMAIL,
    C_GEO,
    C_ID,
    C_ORDERS,
    C_PHONE,
    C_SPENT,
    O_CANCELLED,
    O_CODE,
    O_CREATED,
    O_DISCOUNTS,
    O_EMAIL,
    O_FINANCIAL,
    O_FULFILLMENT,
    O_GEO,
    O_ID,
    O_LINES,
    O_NUMBER,
    O_PLACED,
    O_REFUNDED,
    O_SHIPPING,
    O_SOURCE,
    O_SUBTOTAL,
    O_TAGS,
    O_TAX,
    O_TEST,
    O_TOTAL,
    O_UPDATED,
    Calendar,
    iter_store,
)

Progress = Callable[[int, int], None]  # (customers done, customers in all)

CUSTOMER_COLUMNS = (
    "customer_id, email, first_name, last_name, phone, created_at, updated_at, tags, company, "
    "city, province, province_code, country, country_code, zip, accepts_email_marketing, "
    "accepts_sms_marketing, tax_exempt, note")
ORDER_COLUMNS = (
    "order_id, name, customer_id, email, placed_at, created_at, updated_at, cancelled_at, "
    "is_test, financial_status, fulfillment_status, currency, subtotal_price, total_discounts, "
    "total_shipping, total_tax, total_price, refunded_amount, source, channel, landing_site, "
    "referring_site, utm_source, utm_medium, utm_campaign, discount_codes, tags, shipping_city, "
    "shipping_province, shipping_country, customer_order_index")
REFUND_COLUMNS = "order_id, refund_id, created_at, amount"
REFUND_ID_BASE = 9_700_000_000_000  # a refunded order's one refund: this + its order number
LINE_COLUMNS = ("order_id, line_no, product_id, variant_id, product, variant, sku, vendor, "
                "product_type, quantity, price, discount")
CHUNK_CUSTOMERS = 5000


@dataclass(frozen=True)
class Summary:
    customers: int
    orders: int
    lines: int
    seconds: float
    end_date: dt.date
    phases: tuple[tuple[str, float], ...] = ()

    def line(self) -> str:
        return (f"{self.customers:,} customers, {self.orders:,} orders, {self.lines:,} order lines "
                f"up to {self.end_date} in {self.seconds:.1f} s")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _Timestamps:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS+00' without a datetime per value."""

    def __init__(self, cal: Calendar):
        self.base = cal.epoch[0]
        self.days = [f"{d.isoformat()} " for d in cal.dates] + [
            f"{(cal.end_date + dt.timedelta(days=1)).isoformat()} "]
        self.clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(86_400)]

    def __call__(self, ts: int) -> str:
        d, s = divmod(ts - self.base, 86_400)
        return self.days[d] + self.clock[s]


def _text_array(values: tuple) -> str:
    return "{" + ",".join(values) + "}"


def copy_store(conn: psycopg.Connection, customers: int, seed: int, end_date: dt.date,
               progress: Progress | None = None) -> Summary:
    """Replace the store's data with a generated one, in one transaction (COPY all the way).

    Orders stream to the server while they are generated; customers and lines are spooled to
    temporary files and copied after, so that generation and the server's work overlap. The
    secondary indexes are rebuilt after the load, and `customer_order_index` (computed while
    generating) is checked by the compiler's `refresh_order_index`, which then rewrites nothing.
    """
    start = time.perf_counter()
    cal = Calendar(end_date)
    fmt_ts = _Timestamps(cal)
    top = 200_000  # unit prices, shipping and most amounts are below $2,000
    money = [_money(x) for x in range(top)]
    base, days, clock, DAY, NUL = fmt_ts.base, fmt_ts.days, fmt_ts.clock, 86_400, "\\N"

    def m(cents: int) -> str:
        return money[cents] if cents < top else _money(cents)

    geo_c = []
    for g in c.GEO:
        city, pcode, pname, ccode, cname, zipc = g[:6]
        geo_c.append("\t".join((city, pname or "\\N", pcode or "\\N", cname, ccode, zipc)))
    geo_o = [f"{g[0]}\t{g[1] or chr(92) + 'N'}\t{g[3]}" for g in c.GEO]
    prod_line = [
        f"{c.PRODUCT_ID_BASE + i}\t{c.VARIANT_ID_BASE + i}\t{p.title}\t\\N\t{p.sku}\t{p.vendor}\t"
        f"{p.product_type}" for i, p in enumerate(c.PRODUCTS)]
    currency = c.CURRENCY
    tf = "ft"
    n_orders = n_lines = 0
    phases: list[tuple[str, float]] = []
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases.append((name, now - mark))
        mark = now

    with conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute(f"TRUNCATE {CUSTOMERS}, {ORDERS}, {ORDER_LINES}, {REFUNDS}")
        indexes = conn.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY (%s::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique",
            ([CUSTOMERS, ORDERS, ORDER_LINES],)).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        # Primary keys too (a sorted build beats a million inserts), unless something refers to them.
        keys = conn.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'p' AND conrelid = ANY (%s::regclass[])"
            " AND NOT EXISTS (SELECT FROM pg_constraint f WHERE f.contype = 'f'"
            "                 AND f.confrelid = ANY (%s::regclass[]))",
            ([CUSTOMERS, ORDERS, ORDER_LINES],) * 2).fetchall()
        for table, name, _ in keys:
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        with tempfile.TemporaryFile("w+", encoding="utf-8") as cust_spool, \
                tempfile.TemporaryFile("w+", encoding="utf-8") as line_spool, \
                tempfile.TemporaryFile("w+", encoding="utf-8") as refund_spool:
            with conn.cursor().copy(f"COPY {ORDERS} ({ORDER_COLUMNS}) FROM STDIN WITH (FREEZE)") as cp:
                obuf: list[str] = []
                lbuf: list[str] = []
                cbuf: list[str] = []
                rbuf: list[str] = []
                for done, (cu, orders) in enumerate(iter_store(customers, seed, end_date), 1):
                    cbuf.append(
                        f"{cu[0]}\t{cu[1]}\t{cu[2]}\t{cu[3]}\t{cu[4] or NUL}\t"
                        f"{fmt_ts(cu[5])}\t{fmt_ts(cu[6])}\t{{{','.join(cu[7])}}}\t{cu[8] or NUL}\t"
                        f"{geo_c[cu[9]]}\t{tf[cu[10]]}\t{tf[cu[11]]}\t{tf[cu[12]]}\t{cu[13] or NUL}\n")
                    for o in orders:
                        oid = o[0]
                        cancelled = o[7]
                        idx = o[27]
                        t = o[4] - base
                        placed = days[t // DAY] + clock[t % DAY]
                        t = o[6] - base
                        updated = days[t // DAY] + clock[t % DAY]
                        obuf.append(
                            f"{oid}\t#{o[1]}\t{o[2]}\t{o[3]}\t{placed}\t"
                            f"{placed if o[5] == o[4] else fmt_ts(o[5])}\t{updated}\t"
                            f"{NUL if cancelled is None else fmt_ts(cancelled)}\t"
                            f"{tf[o[8]]}\t{o[9]}\t{o[10]}\t{currency}\t{m(o[11])}\t"
                            f"{money[o[12]] if o[12] < top else m(o[12])}\t{money[o[13]]}\t"
                            f"{m(o[14])}\t{m(o[15])}\t"
                            f"{money[o[16]] if o[16] < top else m(o[16])}\t{o[17]}\t{o[18]}\t"
                            f"{o[19] or NUL}\t{o[20] or NUL}\t{o[21] or NUL}\t{o[22] or NUL}\t"
                            f"{o[23] or NUL}\t{{{o[24] or ''}}}\t{{{','.join(o[25])}}}\t"
                            f"{geo_o[o[26]]}\t{NUL if idx is None else idx}\n")
                        no = 0
                        for ln in o[28]:
                            no += 1
                            lbuf.append(f"{oid}\t{no}\t{prod_line[ln[0]]}\t{ln[1]}\t"
                                        f"{money[ln[2]]}\t{m(ln[3])}\n")
                        n_lines += no
                        if o[16]:  # refunded: one refund, made when the order was last updated
                            rbuf.append(f"{oid}\t{REFUND_ID_BASE + o[1]}\t{updated}\t{m(o[16])}\n")
                    n_orders += len(orders)
                    if done % CHUNK_CUSTOMERS == 0:
                        cp.write("".join(obuf))
                        line_spool.write("".join(lbuf))
                        cust_spool.write("".join(cbuf))
                        refund_spool.write("".join(rbuf))
                        rbuf.clear()
                        obuf.clear()
                        lbuf.clear()
                        cbuf.clear()
                        if progress:
                            progress(done, customers)
                cp.write("".join(obuf))
                line_spool.write("".join(lbuf))
                cust_spool.write("".join(cbuf))
                refund_spool.write("".join(rbuf))
            phase("generate + copy orders")
            for spool, table, columns in ((line_spool, ORDER_LINES, LINE_COLUMNS),
                                          (cust_spool, CUSTOMERS, CUSTOMER_COLUMNS),
                                          (refund_spool, REFUNDS, REFUND_COLUMNS)):
                spool.seek(0)
                with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN WITH (FREEZE)") as cp:
                    while chunk := spool.read(1 << 20):
                        cp.write(chunk)
                phase(f"copy {table}")
        if progress:
            progress(customers, customers)
        for table, name, definition in keys:
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for _, definition in indexes:
            conn.execute(definition)
        phase("indexes")
        conn.execute(refresh_order_index().sql(dialect="postgres"))
        phase("refresh_order_index")
        conn.execute(f"ANALYZE {CUSTOMERS}, {ORDERS}, {ORDER_LINES}, {REFUNDS}")
        phase("analyze")
    phase("commit")
    return Summary(customers, n_orders, n_lines, time.perf_counter() - start, end_date,
                   tuple(phases))


# ---- Shopify admin exports ----------------------------------------------------------------

ORDERS_EXPORT_COLUMNS = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
    "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level",
    "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
    "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value",
    "Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name",
    "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
)
CUSTOMERS_EXPORT_COLUMNS = (
    "Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing",
    "Default Address Company", "Default Address Address1", "Default Address Address2",
    "Default Address City", "Default Address Province Code", "Default Address Country Code",
    "Default Address Zip", "Default Address Phone", "Phone", "Accepts SMS Marketing",
    "Total Spent", "Total Orders", "Note", "Tax Exempt", "Tags",
)
STORE_ZONE = "America/Toronto"
_STREETS = ("Queen St W", "King St E", "Main St", "Maple Ave", "Elm St", "Rue Saint-Denis",
            "Oak Dr", "Park Ave", "Cedar Ln", "Broadway", "Water St", "Bay St")


def _address(cid: int) -> str:
    return f"{cid % 997 + 3} {_STREETS[cid // 7 % len(_STREETS)]}"


def _zip(value: str) -> str:
    # Shopify quotes all-digit zips with a leading apostrophe so spreadsheets keep the zeros.
    return "'" + value if value.isdigit() else value


def write_csv(folder: Path, customers: int, seed: int, end_date: dt.date,
              progress: Progress | None = None) -> Summary:
    """Write customers_export.csv and orders_export.csv (Shopify admin layouts) into `folder`."""
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(STORE_ZONE)

    def ts(epoch: int | None) -> str:
        if epoch is None:
            return ""
        return dt.datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M:%S %z")

    products = c.PRODUCTS
    n_orders = n_lines = 0
    with open(folder / "customers_export.csv", "w", newline="", encoding="utf-8") as cf, \
            open(folder / "orders_export.csv", "w", newline="", encoding="utf-8") as of:
        cw, ow = csv.writer(cf), csv.writer(of)
        cw.writerow(CUSTOMERS_EXPORT_COLUMNS)
        ow.writerow(ORDERS_EXPORT_COLUMNS)
        for done, (cu, orders) in enumerate(iter_store(customers, seed, end_date), 1):
            cid = cu[C_ID]
            g = c.GEO[cu[C_GEO]]
            phone = cu[C_PHONE] or ""
            name = f"{cu[2]} {cu[3]}"
            cw.writerow((
                cid, cu[2], cu[3], cu[C_EMAIL], "yes" if cu[C_ACCEPTS_EMAIL] else "no",
                cu[8] or "", _address(cid), "", g[0], g[1], g[3], _zip(g[5]), phone and "'" + phone,
                phone and "'" + phone, "yes" if cu[11] else "no", _money(cu[C_SPENT]),
                cu[C_ORDERS], cu[13] or "", "yes" if cu[12] else "no", ", ".join(cu[7]),
            ))
            for o in orders:
                source = o[O_SOURCE]
                pos = source == "pos"
                cancelled = o[O_CANCELLED]
                fulfilled = o[O_FULFILLMENT] == "fulfilled"
                paid = o[O_FINANCIAL] != "voided"
                if o[O_TEST]:
                    payment = "bogus"
                elif pos:
                    payment = "Cash" if o[O_ID] % 4 == 0 else "Shopify Payments"
                elif source == "amazon":
                    payment = "Amazon Pay"
                elif source == "shopify_draft_order":
                    payment = "manual"
                else:
                    pay_ref = o[O_ID] % 10
                    payment = "PayPal Express Checkout" if pay_ref < 2 else "Shopify Payments"
                if pos or "local-pickup" in o[O_TAGS]:
                    method = "Local Pickup" if not pos else ""
                elif o[O_SHIPPING] == 0:
                    method = "Free Shipping"
                else:
                    method = "Standard Shipping"
                og = c.GEO[o[O_GEO]]
                ref = f"c{o[O_ID] % 10**12:012d}.1"
                tax_name = f"{og[8]} {og[7] / 100:g}%" if o[O_TAX] else ""
                for no, ln in enumerate(o[O_LINES]):
                    p = products[ln[0]]
                    line = (
                        ln[1], p.title, _money(ln[2]), "", p.sku,
                        "true" if p.requires_shipping else "false",
                        "true" if p.taxable else "false",
                        "fulfilled" if fulfilled else "pending",
                    )
                    if no == 0:
                        address = (name, _address(cid), _address(cid), "", cu[8] or "", og[0],
                                   _zip(og[5]), og[1], og[3], phone)
                        row = (
                            f"#{o[O_NUMBER]}", o[O_EMAIL], o[O_FINANCIAL],
                            ts(o[O_PLACED]) if paid else "", o[O_FULFILLMENT],
                            ts(o[O_UPDATED]) if fulfilled else "",
                            "yes" if cu[C_ACCEPTS_EMAIL] else "no", c.CURRENCY,
                            _money(o[O_SUBTOTAL]), _money(o[O_SHIPPING]), _money(o[O_TAX]),
                            _money(o[O_TOTAL]), o[O_CODE] or "", _money(o[O_DISCOUNTS]), method,
                            ts(o[O_CREATED]), *line, *address, *address, "", "",
                            ts(cancelled), payment, ref, _money(o[O_REFUNDED]), p.vendor, "0.00",
                            c.POS_STAFF[o[O_ID] % 3] if pos else "",
                            c.POS_LOCATIONS[o[O_ID] % 2] if pos else "", "", o[O_ID],
                            ", ".join(o[O_TAGS]), "Low", source, _money(ln[3]),
                            tax_name, _money(o[O_TAX]) if tax_name else "",
                            "", "", "", "", "", "", "", "", phone, "", "", og[2], og[2], ref,
                            "", "", ref,
                        )
                    else:
                        row = (
                            f"#{o[O_NUMBER]}", o[O_EMAIL], "", "", "", "", "", "", "", "", "",
                            "", "", "", "", "", *line, *([""] * 20), "", "", "", "", "", "",
                            p.vendor, "", "", "", "", o[O_ID], "", "", "", _money(ln[3]),
                            *([""] * 10), "", "", "", "", "", "", "", "", "",
                        )
                    assert len(row) == len(ORDERS_EXPORT_COLUMNS)
                    ow.writerow(row)
                n_lines += len(o[O_LINES])
            n_orders += len(orders)
            if progress and done % CHUNK_CUSTOMERS == 0:
                progress(done, customers)
    if progress:
        progress(customers, customers)
    return Summary(customers, n_orders, n_lines, time.perf_counter() - start, end_date)
