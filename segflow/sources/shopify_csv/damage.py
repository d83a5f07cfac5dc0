"""The marks a spreadsheet leaves when it opens a Shopify export and saves it again.

Excel, Numbers and LibreOffice read a CSV file's columns as numbers and dates where they can, and
write them back in their own format: long ids and phone numbers in scientific notation
(`7.02255E+12`: the last digits are gone for good), zip codes without their leading zeros
(`02134` -> `2134`), timestamps re-formatted (`10/7/2025 9:50`). Shopify's own export writes
ids as plain digits (in the customers export prefixed with `'` exactly to stop spreadsheets doing
this), and timestamps as `2025-10-07 09:50:26 +0200`.

A file with such marks is refused as a whole with one message: each of its rows would otherwise
be a row error, or, worse, load with a wrong id. The first `SAMPLE_ROWS` rows are checked (a
spreadsheet re-formats a whole column, so the first rows show it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SAMPLE_ROWS = 1000

SCIENTIFIC = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+", re.ASCII)
SPREADSHEET_DATE = re.compile(
    r"[0-9]{1,2}[/.][0-9]{1,2}[/.][0-9]{2,4}(?: [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?: ?[AaPp][Mm])?)?",
    re.ASCII)
SHORT_ZIP = re.compile(r"[0-9]{3,4}", re.ASCII)

ID_COLUMNS = ("Customer ID", "Id")
PHONE_COLUMNS = ("Phone", "Default Address Phone", "Billing Phone", "Shipping Phone")
DATE_COLUMNS = ("Created at", "Cancelled at", "Paid at", "Fulfilled at", "Processed at")
# Zip columns and the country code column of the same address. Countries whose postal codes are
# five digits that may start with 0 (US zip codes; US territories use US zips).
ZIP_COLUMNS = (("Default Address Zip", "Default Address Country Code"), ("Zip", "Country Code"),
               ("Billing Zip", "Billing Country"), ("Shipping Zip", "Shipping Country"))
FIVE_DIGIT_ZIPS = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})
ZIPS_NEEDED = 2  # one short US zip can be a typo; two in the first rows are a spreadsheet


def spreadsheet_damage(header: Sequence[str], rows: Sequence[tuple[int, Sequence[str]]]
                       ) -> str | None:
    """One message naming the damage found in `rows` (line, fields), or None."""
    index = {name.strip(): i for i, name in reversed(list(enumerate(header)))}
    found: list[tuple[str, str]] = []  # (column, what was found where)

    def scan(columns: Sequence[str], pattern: re.Pattern, why: str) -> None:
        for column in columns:
            i = index.get(column)
            if i is None:
                continue
            for line, row in rows:
                value = row[i].strip() if i < len(row) else ""
                if value and pattern.fullmatch(value):
                    found.append((column, f"{value} at line {line} ({why})"))
                    break

    scan(ID_COLUMNS, SCIENTIFIC, "an id in scientific notation has lost its last digits")
    scan(PHONE_COLUMNS, SCIENTIFIC, "a phone number in scientific notation")
    scan(DATE_COLUMNS, SPREADSHEET_DATE,
         "a re-formatted date; Shopify writes 2025-10-07 09:50:26 +0200")
    for zip_column, country_column in ZIP_COLUMNS:
        i, c = index.get(zip_column), index.get(country_column)
        if i is None or c is None:
            continue
        short = [(line, row[i].strip()) for line, row in rows
                 if max(i, c) < len(row) and row[c].strip().upper() in FIVE_DIGIT_ZIPS
                 and SHORT_ZIP.fullmatch(row[i].strip())]
        if len(short) >= ZIPS_NEEDED:
            line, value = short[0]
            found.append((zip_column, f"{value} at line {line} (a US zip code that lost its "
                                      f"leading zero; {len(short)} such in the first rows)"))
    if not found:
        return None
    (column, what), *more = found
    text = f"{column} looks like a spreadsheet re-saved this file: {what}"
    if more:
        text += "; also " + "; ".join(f"{c} {w}" for c, w in more)
    return (text + ". Re-export the file from Shopify and import it as downloaded, without "
            "opening and saving it in a spreadsheet")
