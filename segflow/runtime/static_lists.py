"""Static segments: members listed in a CSV file of customer ids or emails, loaded at apply."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import psycopg

from segflow.errors import SegflowError

ID_HEADERS = ("customer_id", "customer id", "id")
EMAIL_HEADERS = ("email", "customer email", "e-mail")


@dataclass(frozen=True)
class ListLoad:
    segment_id: str
    members: int
    unknown: list[str]


def read_list(path: Path) -> tuple[list[int], list[str]]:
    """(customer ids, emails) named in a list file: a header row, then one customer per row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SegflowError(f"{path}: cannot read list file: {exc}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    header = [h.strip().lower() for h in rows[0]]
    col_id = next((header.index(h) for h in ID_HEADERS if h in header), None)
    col_email = next((header.index(h) for h in EMAIL_HEADERS if h in header), None)
    if col_id is None and col_email is None:
        raise SegflowError(f"{path}:1: a list file needs a 'customer_id' or 'email' column "
                           f"(found: {', '.join(rows[0])})")
    ids, emails = [], []
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if col_id is not None and col_id < len(row) and row[col_id].strip():
            value = row[col_id].strip().lstrip("'")
            if not value.lstrip("-").isdigit():
                raise SegflowError(f"{path}:{lineno}: customer id {value!r} is not a number")
            ids.append(int(value))
        elif col_email is not None and col_email < len(row) and row[col_email].strip():
            emails.append(row[col_email].strip().lower())
    return ids, emails


def load_list(conn: psycopg.Connection, segment_id: str, path: Path) -> ListLoad:
    """Replace the segment's members with the customers the file names; report unknown ones."""
    ids, emails = read_list(path)
    conn.execute("DELETE FROM store.list_members WHERE segment_id = %s", (segment_id,))
    known_ids = {r[0] for r in conn.execute(
        "SELECT customer_id FROM store.customers WHERE customer_id = ANY(%s)", (ids,))}
    by_email = dict(conn.execute(
        "SELECT DISTINCT ON (lower(email)) lower(email), customer_id FROM store.customers"
        " WHERE lower(email) = ANY(%s) ORDER BY lower(email), customer_id", (emails,)).fetchall())
    members = sorted(known_ids | set(by_email.values()))
    unknown = [str(i) for i in ids if i not in known_ids] + [e for e in emails if e not in by_email]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO store.list_members VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        [(segment_id, m) for m in members])
    return ListLoad(segment_id, len(members), unknown)
