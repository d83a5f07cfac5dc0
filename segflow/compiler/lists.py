"""Static list files: where they may live and what they may hold. No database here.

A static segment's `list = "lists/wholesale.csv"` names a CSV file inside the project folder
(the folder of seg.toml): the path is relative to it, and once symlinks are resolved the file
must still be inside it (`/etc/passwd`, `../x.csv` and a link pointing out are refused). The
file is UTF-8 (a byte-order mark is fine), a header row naming a `customer_id` (or `customer
id`, `id`) and/or `email` (`customer email`, `e-mail`) column, then one customer per row: a
Shopify customer id (whole number, a leading `'` is dropped) or an email address. Blank rows are
skipped. `seg validate` checks all of this (every bad entry as `file:line`), so a list that
`seg apply` would refuse never passes a pull request.

Errors never echo the file's contents beyond the one bad value they are about.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from segflow.errors import Diagnostic

ID_HEADERS = ("customer_id", "customer id", "id")
EMAIL_HEADERS = ("email", "customer email", "e-mail")
WHOLE = re.compile(r"-?[0-9]{1,19}", re.ASCII)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
BIGINT = 1 << 63
SHOWN = 40  # characters of a bad value shown in an error


class ListPathError(ValueError):
    """The path of a list file is not a file inside the project folder (the message says why)."""

    def __init__(self, message: str, code: str = "bad-list"):
        super().__init__(message)
        self.code = code


def resolve_list_path(root: Path, text: str) -> Path:
    """The list file `text` names, resolved; it must be a file inside the project folder."""
    if not text or Path(text).is_absolute() or text.startswith("~"):
        raise ListPathError(f"list file '{text}' must be a path relative to the project folder "
                            "(where seg.toml is)")
    base = root.resolve()
    path = (base / text).resolve()
    if not path.is_relative_to(base):
        raise ListPathError(f"list file '{text}' is outside the project folder: a list must be "
                            "a file inside it (symlinks and '..' may not lead out)")
    if not path.is_file():
        raise ListPathError(f"list file '{text}' not found (paths are relative to the project "
                            "folder)", "missing-file")
    return path


@dataclass
class ListContents:
    ids: list[int] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


def read_list_file(path: Path, shown: str) -> ListContents:
    """The customer ids and emails a list file names, and every problem in it (`shown` is the
    file name the problems carry)."""
    out = ListContents()

    def problem(line: int | None, message: str) -> None:
        out.problems.append(Diagnostic(shown, line, None, message, "bad-list"))

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        problem(None, f"cannot read the list file: {exc.strerror}")
        return out
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        problem(line, "not UTF-8 text: a list file must be UTF-8")
        return out
    if "\0" in text:
        problem(text[: text.index("\0")].count("\n") + 1, "contains a NUL byte")
        return out
    reader = csv.reader(io.StringIO(text, newline=""))
    header, start = None, 1
    try:
        header = next(reader, None)
        if header is None:
            return out
        names = [h.strip().lower() for h in header]
        col_id = next((names.index(h) for h in ID_HEADERS if h in names), None)
        col_email = next((names.index(h) for h in EMAIL_HEADERS if h in names), None)
        if col_id is None and col_email is None:
            problem(1, "a list file needs a header row naming a 'customer_id' or 'email' column")
            return out
        start = reader.line_num + 1
        for row in reader:
            _entry(row, col_id, col_email, start, out, problem)
            start = reader.line_num + 1
    except csv.Error as exc:
        problem(start, f"not valid CSV: {exc}")
    return out


def _entry(row: list[str], col_id: int | None, col_email: int | None, line: int,
           out: ListContents, problem) -> None:
    value = row[col_id].strip().lstrip("'") if col_id is not None and col_id < len(row) else ""
    if value:
        if WHOLE.fullmatch(value) and -BIGINT <= int(value) < BIGINT:
            out.ids.append(int(value))
        else:
            problem(line, f"customer id {_shown(value)} is not a whole number (a Shopify "
                          "customer id)")
        return
    email = row[col_email].strip() if col_email is not None and col_email < len(row) else ""
    if not email:
        return  # a blank row
    if EMAIL.fullmatch(email):
        out.emails.append(email.lower())
    else:
        problem(line, f"{_shown(email)} is not an email address")


def _shown(value: str) -> str:
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "...")


def check_list(root: Path, text: str) -> tuple[ListPathError | None, list[Diagnostic]]:
    """(the problem with the path, the problems in the file) of the list `list = text` names."""
    try:
        path = resolve_list_path(root, text)
    except ListPathError as exc:
        return exc, []
    return None, read_list_file(path, text).problems
