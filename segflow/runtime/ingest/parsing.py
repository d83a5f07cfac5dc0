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
                  "Shipping Country", "Lineitem sku", "Vendor", "Lineitem discount")
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
}
CUSTOMER_REQUIRED = ("email",)


def derived_id(kind: str, text: str) -> int:
    """A stable negative bigint for things the export gives no id (Shopify's ids are positive).

    `derived_id("email", lower(email))` for customers known only by email (order emails with no
    customer, the old customers export without `Customer ID`); `derived_id("order", Name)` for
    orders when the export has no `Id` column.
    """
    digest = hashlib.blake2b(f"{kind}:{text}".encode(), digest_size=8).digest()
    return -((int.from_bytes(digest, "big") & ((1 << 62) - 1)) + 1)


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
            if has_id and raw_id:
                customer_id = _int(raw_id, "Customer ID")
            elif email:
                customer_id = derived_id("email", email.lower())
            else:
                raise BadValue("no Customer ID and no Email: cannot identify the customer")
            phone = _text(c["phone"].strip().lstrip("'")) or _text(
                c["address_phone"].strip().lstrip("'"))
            out[customer_id] = (
                customer_id, email, _text(c["first_name"]), _text(c["last_name"]), phone,
                _list(c["tags"]), _text(c["company"]), _text(c["city"]), _text(c["province"]),
                _text(c["province_code"]), _text(c["country"]), _text(c["country_code"]),
                _text(c["zip"].strip().lstrip("'")), _bool(c["accepts_email"], "Accepts Email Marketing"),
                _bool(c["accepts_sms"], "Accepts SMS Marketing"), _bool(c["tax_exempt"], "Tax Exempt"),
                _text(c["note"]),
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

    def at(name: str) -> int:
        return index.get(name, width)

    i_name, i_email, i_created = at("Name"), at("Email"), at("Created at")
    i_qty, i_item, i_price, i_total = (at("Lineitem quantity"), at("Lineitem name"),
                                       at("Lineitem price"), at("Total"))
    i_id, i_fin, i_ful, i_cur = at("Id"), at("Financial Status"), at("Fulfillment Status"), at(
        "Currency")
    i_sub, i_ship, i_tax, i_codes, i_disc = (at("Subtotal"), at("Shipping"), at("Taxes"),
                                             at("Discount Code"), at("Discount Amount"))
    i_cancel, i_refund, i_tags, i_source = (at("Cancelled at"), at("Refunded Amount"), at("Tags"),
                                            at("Source"))
    i_city, i_prov, i_country = at("Shipping City"), at("Shipping Province"), at(
        "Shipping Country")
    i_sku, i_vendor, i_ldisc = at("Lineitem sku"), at("Vendor"), at("Lineitem discount")
    has_id = "Id" in index

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
        name = row[i_name].strip()
        state = seen.get(name)
        try:
            if not name:
                raise BadValue("no order Name")
            if state is None:  # the order's first row
                if not row[i_created].strip():
                    seen[name] = [None, 0]
                    raise BadValue(f"line item of order {name} whose first row (with "
                                   "'Created at', 'Total', ...) is missing")
                state = seen[name] = [None, 1]
                raw_id = row[i_id].strip().lstrip("'") if has_id else ""
                order_id = _int(raw_id, "Id") if raw_id else derived_id("order", name)
                if order_id in ids:
                    raise BadValue(f"order id {order_id} is also used by order {ids[order_id]}")
                state[0] = order_id
                ids[order_id] = name
                email = row[i_email].strip() or None
                key = email.lower() if email else None
                fallback = None
                if key:
                    fallback = email_ids.get(key)
                    if fallback is None:
                        fallback = email_ids[key] = derived_id("email", key)
                source = row[i_source].strip() or None
                orders.append((
                    order_id, name, email, key, fallback,
                    _timestamp(row[i_created], "Created at"),
                    _timestamp(row[i_cancel], "Cancelled at"),
                    row[i_fin].strip() or None, row[i_ful].strip() or None,
                    row[i_cur].strip() or None,
                    _money(row[i_sub], "Subtotal"), _money(row[i_disc], "Discount Amount"),
                    _money(row[i_ship], "Shipping"), _money(row[i_tax], "Taxes"),
                    _money(row[i_total], "Total"), _money(row[i_refund], "Refunded Amount"),
                    source, channel_for(source), _list(row[i_codes]), _list(row[i_tags]),
                    row[i_city].strip() or None, row[i_prov].strip() or None,
                    row[i_country].strip() or None,
                ))
            elif state[0] is None:
                raise BadValue(f"line item of order {name} whose first row (with "
                               "'Created at', 'Total', ...) is missing")
            item, qty = row[i_item], row[i_qty]
            if item or qty.strip():
                emit_line((
                    state[0], state[1], item.strip() or None, row[i_sku].strip() or None,
                    row[i_vendor].strip() or None, _int(qty, "Lineitem quantity"),
                    _money(row[i_price], "Lineitem price"),
                    _money(row[i_ldisc], "Lineitem discount"),
                ))
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
