"""Reading Shopify's CSV exports: headers located by name, values checked, rows turned into the
tuples the loader COPYs. Nothing here touches the database.

Both exports are UTF-8 (optionally with a BOM). orders_export.csv has one row per line item; the
order's own fields are on its first row only, and the rows of an order share `Name`.
Column lists and their sources: docs/data.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from segflow.errors import Diagnostic, SegflowError
from segflow.runtime.ingest.channels import channel_for
from segflow.runtime.ingest.discounts import split_discounts
from segflow.runtime.ingest.statuses import financial_status, fulfillment_status

Progress = Callable[[str, int, int], None]  # (label, bytes done, bytes total)

MAX_MONEY = Decimal(10) ** 12  # numeric(14,2)
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


def _money(text: str, column: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadValue(f"column {column!r}: not a number: {text!r}") from None
    if not value.is_finite() or abs(value) >= MAX_MONEY:
        raise BadValue(f"column {column!r}: not an amount: {text!r}")
    return text


def _timestamp(text: str, column: str) -> str | None:
    """`2025-10-07 09:50:26 +0200` (the export's form) or ISO 8601; returned as ISO text."""
    text = text.strip()
    if not text:
        return None
    iso = text[:19] + text[20:] if len(text) > 20 and text[19] == " " else text
    try:
        dt.datetime.fromisoformat(iso)
    except ValueError:
        raise BadValue(f"column {column!r}: not a date and time: {text!r}") from None
    return iso


def _int(text: str, column: str) -> int:
    text = text.strip().lstrip("'")
    try:
        return int(text)
    except ValueError:
        raise BadValue(f"column {column!r}: not a whole number: {text!r}") from None


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
    text = text.strip()
    return text or None


class _CountingReader(io.RawIOBase):
    """A raw file that counts the bytes read (for the progress bar)."""

    def __init__(self, raw):
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        self.count += n or 0
        return n


@dataclass
class CsvFile:
    """A CSV file being read: rows with their first line number, the header's column indexes."""

    path: Path
    display: str
    progress: Progress | None = None
    label: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            raw = open(self.path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise SegflowError(Diagnostic(self.display, None, None,
                                          f"cannot read: {exc.strerror}")) from None
        total = self.path.stat().st_size
        counter = _CountingReader(raw)
        text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 20), encoding="utf-8-sig",
                                newline="")
        reader = csv.reader(text)
        start = 1
        n = 0
        try:
            for row in reader:
                yield start, row
                start = reader.line_num + 1
                n += 1
                if self.progress and n % 20_000 == 0:
                    self.progress(self.label, counter.count, total)
        except UnicodeDecodeError:
            self.error(start, "not UTF-8 text (export the file again from Shopify)")
        except csv.Error as exc:
            self.error(start, f"not valid CSV: {exc}")
        finally:
            text.close()
        if self.progress:
            self.progress(self.label, total, total)

    def error(self, line: int | None, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.display, line, None, message))

    def columns(self, header: list[str], required: tuple[str, ...], what: str) -> dict[str, int]:
        index = {name.strip(): i for i, name in reversed(list(enumerate(header)))}
        missing = [c for c in required if c not in index]
        if missing:
            raise SegflowError(Diagnostic(
                self.display, 1, None,
                f"missing required column{'s' * (len(missing) > 1)} "
                f"{', '.join(repr(c) for c in missing)}: is this Shopify's {what} export?"))
        return index


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
    rows = f.rows()
    first = next(rows, None)
    if first is None:
        raise SegflowError(Diagnostic(f.display, None, None, "empty file: no header row"))
    header = first[1]
    names = {name.strip(): i for i, name in reversed(list(enumerate(header)))}
    width = len(header)
    col: dict[str, int] = {}
    for key, candidates in CUSTOMER_COLUMNS.items():
        col[key] = next((names[c] for c in candidates if c in names), width)  # width: "" pad
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
    rows = f.rows()
    first = next(rows, None)
    if first is None:
        raise SegflowError(Diagnostic(f.display, None, None, "empty file: no header row"))
    header = first[1]
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
