"""Reading Shopify's CSV exports: headers located by name, values checked, rows turned into the
tuples the loader COPYs. Nothing here touches the database.

Both exports are UTF-8 (optionally with a BOM). orders_export.csv has one row per line item; the
order's own fields are on its first row only, and the rows of an order share `Name`.
Column lists and their sources: docs/data.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from segflow.sources.shopify_csv.csvfile import BadRow, CsvFile, Progress
from segflow.sources.shopify_csv.damage import SCIENTIFIC
from segflow.sources.vocab.channels import channel_for
from segflow.sources.vocab.discounts import split_discounts
from segflow.sources.vocab.statuses import financial_status, fulfillment_status

__all__ = ["BadRow", "CsvFile", "Progress", "derived_id", "parse_customers", "parse_orders"]

# numeric(14,2) holds less than 10^12, and net_amount (total - refunded) must fit too: every
# amount stays below 10^11 (the MONEY pattern below).
MAX_MONEY = Decimal(10) ** 11
TRUE = frozenset({"true", "yes", "y", "1", "t"})
FALSE = frozenset({"false", "no", "n", "0", "f", ""})

# Orders export: the columns we read. Required ones must be in the header; the rest are optional
# (older exports lack some, e.g. `Id`, `Source`, `Refunded Amount`).
ORDER_REQUIRED = ("Name", "Email", "Created at", "Lineitem quantity", "Lineitem name",
                  "Lineitem price", "Total")
ORDER_OPTIONAL = ("Id", "Financial Status", "Fulfillment Status", "Currency", "Subtotal",
                  "Shipping", "Taxes", "Discount Code", "Discount Amount", "Cancelled at",
                  "Refunded Amount", "Tags", "Source", "Shipping City", "Shipping Province",
                  "Shipping Country", "Lineitem sku", "Vendor", "Lineitem discount", "Phone",
                  "Billing Phone")
# Customers export: current header name first, then the older export's name.
CUSTOMER_COLUMNS = {
    "id": ("Customer ID",),
    "email": ("Email",),
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "phone": ("Phone",),
    "address_phone": ("Default Address Phone",),
    "company": ("Default Address Company", "Company"),
    "city": ("Default Address City", "City"),
    "province": ("Province",),
    "province_code": ("Default Address Province Code", "Province Code"),
    "country": ("Country",),
    "country_code": ("Default Address Country Code", "Country Code"),
    "zip": ("Default Address Zip", "Zip"),
    "accepts_email": ("Accepts Email Marketing", "Accepts Marketing"),
    "accepts_sms": ("Accepts SMS Marketing",),
    "tax_exempt": ("Tax Exempt",),
    "note": ("Note",),
    "tags": ("Tags",),
    "total_orders": ("Total Orders",),
    "total_spent": ("Total Spent",),
}
CUSTOMER_REQUIRED: tuple[str, ...] = ()
CUSTOMER_IDENTITY = ("id", "email", "phone")  # one of these columns must be in the header


def derived_id(kind: str, text: str) -> int:
    """A stable negative bigint for things the export gives no id (Shopify's ids are positive).

    `derived_id("email", lower(email))` for customers known only by email (order emails with no
    customer, the old customers export without `Customer ID`); `derived_id("phone",
    phone_key(phone))` for customers of that export with a phone and no email;
    `derived_id("order", Name)` for orders when the export has no `Id` column.
    """
    digest = hashlib.blake2b(f"{kind}:{text}".encode(), digest_size=8).digest()
    return -((int.from_bytes(digest, "big") & ((1 << 62) - 1)) + 1)


def phone_key(text: str | None) -> str | None:
    """The digits of a phone number (`'+1 613-555-0101` -> `16135550101`), how customers and
    orders are matched by phone; None below 7 digits (not a phone number)."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    return digits if len(digits) >= 7 else None


class BadValue(ValueError):
    pass


# What the scalar parsers accept: what Shopify writes, and only what PostgreSQL's column types
# (numeric(14,2), timestamptz, bigint, integer) accept too, so nothing reaches COPY that the
# database would refuse. ASCII digits only: Python's int() and Decimal() also take `1_000` and
# the digits of other scripts (`١٢٣`), PostgreSQL takes neither.
# Money: at most 11 digits before the point (below MAX_MONEY), at most 10 after.
MONEY = re.compile(r"[+-]?0*(?:[0-9]{1,11}(?:\.[0-9]{0,10})?|\.[0-9]{1,10})", re.ASCII)
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
SIGNED = re.compile(r"[+-][0-9]+", re.ASCII)
TIMESTAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)"
    r" ?(?P<zone>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?", re.ASCII)
EXPORT_TIMESTAMP = re.compile(  # 2025-10-07 09:50:26 +0200: YEARS, offset at most ±15:59
    r"(?:19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-](?:0[0-9]|1[0-5])[0-5][0-9]",
    re.ASCII)
MAX_OFFSET_HOURS = 15  # PostgreSQL accepts a UTC offset up to 15:59
YEARS = (1900, 2999)  # any order or customer; keeps every instant within Python's datetime too
INT_BITS = {"Lineitem quantity": 32}  # PostgreSQL integer; every other whole number is bigint
INT_RANGE = {column: (-(1 << (bits - 1)), 1 << (bits - 1)) for column, bits in INT_BITS.items()}
BIGINT = (-(1 << 63), 1 << 63)


def _money(text: str, column: str) -> str | None:
    """A plain decimal (`84.75`, `-5`, `.5`) below MAX_MONEY, returned as written."""
    text = text.strip()
    if not text:
        return None
    if MONEY.fullmatch(text) is None:
        if NUMBER.fullmatch(text):
            raise BadValue(f"column {column!r}: not an amount (at most 11 digits before the "
                           f"point and 10 after): {text!r}")
        raise BadValue(f"column {column!r}: not a number: {text!r}")
    return text


def _timestamp(text: str, column: str) -> str | None:
    """`2025-10-07 09:50:26 +0200` (the export's form) or ISO 8601 (`2025-10-07T09:50:26Z`,
    `2025-10-07`); returned as ISO text. UTC offsets up to ±15:59, as PostgreSQL accepts."""
    text = text.strip()
    if not text:
        return None
    if EXPORT_TIMESTAMP.fullmatch(text):
        try:  # the export's own form (every row of a real file): the quick way
            dt.datetime.fromisoformat(text[:19])
            return text[:19] + text[20:]
        except ValueError:
            pass  # reported below
    m = TIMESTAMP.fullmatch(text)
    try:
        if m is None:
            raise ValueError
        date, time, zone = m.group("date", "time", "zone")
        value = dt.datetime.fromisoformat(f"{date} {time or '00:00'}")
    except ValueError:
        raise BadValue(f"column {column!r}: not a date and time: {text!r}") from None
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise BadValue(f"column {column!r}: not a date between {YEARS[0]} and {YEARS[1]}: "
                       f"{text!r}")
    if zone and zone != "Z" and (int(zone[1:3]) > MAX_OFFSET_HOURS or
                                 (len(zone) > 3 and int(zone[-2:]) > 59)):
        raise BadValue(f"column {column!r}: not a UTC offset PostgreSQL accepts (at most "
                       f"±15:59): {text!r}")
    if time is None:
        return date if zone is None else f"{date} 00:00:00{zone}"
    return f"{value.isoformat(' ')}{zone or ''}"


def _int(text: str, column: str) -> int:
    """Digits (after the `'` Shopify adds for spreadsheets), optionally signed, that fit the
    column's type: integer for the `INT_BITS` columns, else bigint."""
    text = text.strip().lstrip("'")
    if (text.isdigit() and text.isascii()) or SIGNED.fullmatch(text):
        low, high = INT_RANGE.get(column, BIGINT)
        if len(text) <= 40:  # int() refuses very long digit strings
            value = int(text)
            if low <= value < high:
                return value
        bits = INT_BITS.get(column, 64)
        raise BadValue(f"column {column!r}: too large for a {bits}-bit whole number: {text!r}")
    if SCIENTIFIC.fullmatch(text):
        raise BadValue(f"column {column!r}: not a whole number: {text!r} (scientific notation: "
                       "a spreadsheet re-saved the file; re-export it from Shopify)")
    raise BadValue(f"column {column!r}: not a whole number: {text!r}")


def _bool(text: str, column: str) -> bool:
    key = text.strip().lower()
    if key in TRUE:
        return True
    if key in FALSE:
        return False
    raise BadValue(f"column {column!r}: not true/false or yes/no: {text!r}")


def _list(text: str) -> list[str]:
    return [p for p in (s.strip() for s in text.split(",")) if p] if text else []


def _text(text: str) -> str | None:
    """Stripped, None when empty. (NUL bytes, which PostgreSQL's text refuses, never get here:
    the reader makes a row holding one a bad row.)"""
    text = text.strip()
    return text or None


# -- customers -------------------------------------------------------------------------------


def _shopify_totals(orders: str, spent: str) -> tuple[int | None, str | None]:
    """Shopify's `Total Orders` / `Total Spent`, only compared with the import (reconcile.py):
    a value that is not a number is left out of that comparison, never an error."""
    try:
        return (_int(orders, "Total Orders") if orders.strip() else None,
                _money(spent, "Total Spent"))
    except BadValue:
        return None, None


def parse_customers(f: CsvFile) -> list[tuple]:
    """Rows for the customers staging table, one per customer id (the last row wins)."""
    header, rows = f.header_and_rows()
    width = len(header)
    col = f.locate(header, CUSTOMER_COLUMNS)  # width: the "" pad
    missing = [CUSTOMER_COLUMNS[k][0] for k in CUSTOMER_REQUIRED if col[k] == width]
    if all(col[k] == width for k in CUSTOMER_IDENTITY):  # nothing to identify a customer by
        missing.append("Email")
    if missing:
        f.columns(header, tuple(missing), "customers")
    has_id = col["id"] != width
    out: dict[int, tuple] = {}
    for line, row in rows:
        if not any(row):
            continue
        if len(row) <= width:
            row = row + [""] * (width + 1 - len(row))
        c = {k: row[i] for k, i in col.items()}
        try:
            if row.__class__ is BadRow:  # a row the reader could not read cleanly
                raise BadValue(row.reason)
            email = _text(c["email"])
            raw_id = c["id"].strip().lstrip("'")
            phone = _text(c["phone"].strip().lstrip("'")) or _text(
                c["address_phone"].strip().lstrip("'"))
            key = phone_key(phone)
            if has_id and raw_id:
                customer_id = _int(raw_id, "Customer ID")
            elif email:
                customer_id = derived_id("email", email.lower())
            elif key:
                customer_id = derived_id("phone", key)
            else:
                raise BadValue("no Customer ID, no Email and no Phone: cannot identify the "
                               "customer")
            out[customer_id] = (
                customer_id, email, _text(c["first_name"]), _text(c["last_name"]), phone,
                _list(c["tags"]), _text(c["company"]), _text(c["city"]), _text(c["province"]),
                _text(c["province_code"]), _text(c["country"]), _text(c["country_code"]),
                _text(c["zip"].strip().lstrip("'")), _bool(c["accepts_email"], "Accepts Email Marketing"),
                _bool(c["accepts_sms"], "Accepts SMS Marketing"), _bool(c["tax_exempt"], "Tax Exempt"),
                _text(c["note"]), key, *_shopify_totals(c["total_orders"], c["total_spent"]),
            )
        except BadValue as exc:
            f.error(line, str(exc))
    return list(out.values())


# -- orders ----------------------------------------------------------------------------------


@dataclass
class OrdersResult:
    orders: list[tuple]
    lines: int
    bad_orders: set[int]  # order ids with a bad row (their lines may already be staged)
    skipped_rows: int


class _OrderRow:
    """The orders export's column indexes; a column the header lacks reads as "" (index width)."""

    def __init__(self, index: dict[str, int], width: int):
        for name in ORDER_REQUIRED + ORDER_OPTIONAL:
            setattr(self, "i_" + name.lower().replace(" ", "_"), index.get(name, width))
        self.has_id = "Id" in index

    def order(self, row: list[str], order_id: int, name: str, email: str | None,
              key: str | None, fallback: int | None) -> tuple:
        """The staged order of an order's first row (the staging columns of shopify_csv)."""
        source = row[self.i_source].strip() or None
        codes, titles = split_discounts(row[self.i_discount_code])
        phone = phone_key(row[self.i_phone].strip().lstrip("'")) or phone_key(
            row[self.i_billing_phone].strip().lstrip("'"))
        return (
            order_id, name, email, key, fallback,
            _timestamp(row[self.i_created_at], "Created at"),
            _timestamp(row[self.i_cancelled_at], "Cancelled at"),
            financial_status(row[self.i_financial_status]),
            fulfillment_status(row[self.i_fulfillment_status]),
            row[self.i_currency].strip().upper() or None,
            _money(row[self.i_subtotal], "Subtotal"),
            _money(row[self.i_discount_amount], "Discount Amount"),
            _money(row[self.i_shipping], "Shipping"), _money(row[self.i_taxes], "Taxes"),
            _money(row[self.i_total], "Total"), _money(row[self.i_refunded_amount],
                                                       "Refunded Amount"),
            source, channel_for(source), codes, _list(row[self.i_tags]),
            row[self.i_shipping_city].strip() or None,
            row[self.i_shipping_province].strip() or None,
            row[self.i_shipping_country].strip() or None, titles, phone,
        )

    def line(self, row: list[str], order_id: int, line_no: int) -> tuple:
        """The staged line item (product = the whole `Lineitem name`; split after parsing)."""
        return (order_id, line_no, row[self.i_lineitem_name].strip() or None,
                row[self.i_lineitem_sku].strip() or None, row[self.i_vendor].strip() or None,
                _int(row[self.i_lineitem_quantity], "Lineitem quantity"),
                _money(row[self.i_lineitem_price], "Lineitem price"),
                _money(row[self.i_lineitem_discount], "Lineitem discount"))


_ORPHAN = "line item of order {} whose first row (with 'Created at', 'Total', ...) is missing"


def parse_orders(f: CsvFile, emit_line: Callable[[tuple], None]) -> OrdersResult:
    """Stream line items to `emit_line`; return the orders (one per `Name`, from its first row).

    A bad value anywhere in an order's rows makes the whole order bad; a row whose order's first
    row is missing (no `Created at` where the order first appears) is bad on its own.
    """
    header, rows = f.header_and_rows()
    index = f.columns(header, ORDER_REQUIRED, "orders")
    width = len(header)
    pad = [""] * (width + 1)
    cols = _OrderRow(index, width)

    seen: dict[str, list] = {}  # Name -> [order_id or None (orphan), next line_no]
    ids: dict[int, str] = {}
    orders: list[tuple] = []
    bad: set[int] = set()
    lines = skipped = 0
    email_ids: dict[str, int] = {}
    for line, row in rows:
        n = len(row)
        if n == width:
            row.append("")  # index `width`: the columns this export does not have
        elif n < width:
            if not any(row):
                continue
            row += pad[: width + 1 - n]
        name = row[cols.i_name].strip()
        state = seen.get(name)
        try:
            if row.__class__ is BadRow:  # a row the reader could not read cleanly
                if state is None and name:
                    seen[name] = [None, 1]  # the order's first row: the order is left out
                raise BadValue(row.reason)
            if not name:
                raise BadValue("no order Name")
            if state is None:  # the order's first row
                if not row[cols.i_created_at].strip():
                    seen[name] = [None, 0]
                    raise BadValue(_ORPHAN.format(name))
                state = seen[name] = [None, 1]
                raw_id = row[cols.i_id].strip().lstrip("'") if cols.has_id else ""
                order_id = _int(raw_id, "Id") if raw_id else derived_id("order", name)
                if order_id in ids:
                    raise BadValue(f"order id {order_id} is also used by order {ids[order_id]}")
                state[0] = order_id
                ids[order_id] = name
                email = row[cols.i_email].strip() or None
                key = email.lower() if email else None
                fallback = None
                if key:
                    fallback = email_ids.get(key)
                    if fallback is None:
                        fallback = email_ids[key] = derived_id("email", key)
                orders.append(cols.order(row, order_id, name, email, key, fallback))
            elif state[0] is None:
                raise BadValue(_ORPHAN.format(name))
            if row[cols.i_lineitem_name] or row[cols.i_lineitem_quantity].strip():
                emit_line(cols.line(row, state[0], state[1]))
                state[1] += 1
                lines += 1
        except BadValue as exc:
            f.error(line, str(exc))
            skipped += 1
            st = seen.get(name)
            if st is not None:
                if st[0] is None and st[1] == 1:  # its first row is the bad one
                    st[0] = derived_id("order", name)
                if st[0] is not None:
                    bad.add(st[0])
    return OrdersResult(orders, lines, bad, skipped)
