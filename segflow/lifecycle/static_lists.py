"""Static segments: members listed in a CSV file of customer ids or emails, loaded at apply.

Where a list file may live and what it may hold: `segflow.compiler.lists` (checked by `seg
validate` too, without a database).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from segflow.compiler.lists import ListPathError, read_list_file, resolve_list_path
from segflow.errors import SegflowError


@dataclass(frozen=True)
class ListLoad:
    segment_id: str
    members: int
    unknown: list[str]


def read_list(path: Path, shown: str | None = None) -> tuple[list[int], list[str]]:
    """(customer ids, emails) named in a list file; every bad entry in one SegflowError."""
    contents = read_list_file(path, shown or str(path))
    if contents.problems:
        raise SegflowError(contents.problems)
    return contents.ids, contents.emails


def load_list(conn: psycopg.Connection, segment_id: str, path: Path, *,
              root: Path | None = None) -> ListLoad:
    """Replace the segment's members with the customers the file names; report unknown ones.

    With `root` (the project folder), `path` must be a file inside it.
    """
    shown = str(path)
    if root is not None:
        try:
            shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            path = resolve_list_path(root, shown)
        except ListPathError as exc:
            raise SegflowError(f"segment {segment_id}: {exc}") from None
    ids, emails = read_list(path, shown)
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
