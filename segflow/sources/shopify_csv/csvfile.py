"""Reading a CSV file row by row without ever losing the rows after a bad one.

`CsvFile.rows()` yields `(line, fields)`: `line` is the physical line of the file where the row
starts (1-based, the header is line 1, a quoted field spanning lines counts each of them). A row
that cannot be read cleanly does not stop the reader:

- a byte that is not UTF-8, or a NUL byte, anywhere in a row: the row is yielded as a `BadRow`
  (its fields as read, with the reason), so the caller reports it and leaves out what it belongs
  to (an order with such a line is left out whole);
- a field over the csv module's size limit, or any other CSV error: the reader skips to the end
  of that row exactly as the csv module would read it (a quoted field runs to its closing quote)
  and goes on with the next row; the row is yielded as a `BadRow` with what its first line holds.

A bad header (line 1) is fatal: a `SegflowError`. Before the first data row is handed out, the
first rows are checked for the marks a spreadsheet leaves when it re-saves an export
(`segflow.sources.shopify_csv.damage`); a damaged file is refused with one message.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import operator
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from segflow.errors import Diagnostic, SegflowError
from segflow.sources.shopify_csv.damage import SAMPLE_ROWS, spreadsheet_damage

Progress = Callable[[str, int, int], None]  # (label, bytes done, bytes total)


class BadRow(list):
    """A row the reader could not read cleanly: its fields (as far as read) and why."""

    __slots__ = ("reason",)

    def __init__(self, fields: list[str], reason: str):
        super().__init__(fields)
        self.reason = reason


class _CountingReader(io.RawIOBase):
    """A raw file that counts the bytes read (for the progress bar) and notices, chunk by
    chunk, a NUL byte or bytes that are not UTF-8 (`damaged`): only then are rows checked one by
    one, so a clean file pays nothing for the check."""

    def __init__(self, raw):
        self.raw, self.count, self.damaged = raw, 0, False
        self._utf8 = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        self.count += n or 0
        if not self.damaged:
            chunk = bytes(memoryview(b)[:n or 0])
            if b"\0" in chunk or (not chunk.isascii() and not self._decodes(chunk)) or (
                    not n and not self._decodes(b"", final=True)):  # a cut character at the end
                self.damaged = True
        return n

    def _decodes(self, chunk: bytes, final: bool = False) -> bool:
        try:
            self._utf8.decode(chunk, final)
        except UnicodeDecodeError:
            return False
        return True


class _Lines:
    """The physical lines of a file from a forward-only second reader: the lines of a row the
    csv module refused, read only then (so the fast path keeps no copy of anything)."""

    def __init__(self, path: Path):
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.lines = enumerate(map(_DECODE, _without_bom(self.file)), 1)
        self.at = 0  # lines read so far

    def take(self, first: int, last: int) -> list[str]:
        out = []
        for n, line in self.lines:
            self.at = n
            if n >= first:
                out.append(line)
            if n >= last:
                break
        return out

    def close(self) -> None:
        self.file.close()


_DECODE = operator.methodcaller("decode", "utf-8", "surrogateescape")
_BOM = codecs.BOM_UTF8


def _without_bom(buffered) -> Iterator[bytes]:
    first = buffered.readline()
    return itertools.chain([first[len(_BOM):] if first.startswith(_BOM) else first], buffered)


def _damage(row: list[str]) -> str | None:
    """Why a row (of a file with a NUL or a byte that is not UTF-8 somewhere) cannot be loaded."""
    for value in row:
        if "\0" in value:
            return "contains a NUL byte (the file is damaged)"
        if not value.isascii():
            for ch in value:
                if "\udc80" <= ch <= "\udcff":  # a byte `surrogateescape` could not decode
                    return (f"not UTF-8 text (byte 0x{ord(ch) - 0xDC00:02X}): the file must "
                            "be UTF-8, as Shopify exports it")
    return None


def _ends_quoted(line: str, quoted: bool) -> bool:
    """Whether `line` ends inside a quoted field, given whether it starts inside one.

    The csv module's default dialect: a field is quoted when it starts with `"`; inside, `""` is
    a quote; after the closing quote the rest of the field is literal up to the next comma.
    """
    i = 0
    while True:
        if quoted:
            j = line.find('"', i)
            if j < 0:
                return True
            if line.startswith('"', j + 1):
                i = j + 2
                continue
            quoted = False
            j = line.find(",", j + 1)
            if j < 0:
                return False
            i = j + 1
        if line.startswith('"', i):
            quoted, i = True, i + 1
            continue
        j = line.find(",", i)
        if j < 0:
            return False
        i = j + 1


def _csv_error(exc: csv.Error, start: int, end: int) -> str:
    reason = f"not valid CSV: {exc}"
    if "field limit" in str(exc):
        reason = f"a field longer than {csv.field_size_limit():,} characters (the csv module's limit)"
    return reason + (f" (lines {start}-{end} left out)" if end > start else "")


def _first_fields(line: str) -> list[str]:
    """The fields a row's first line holds (for a row the csv module refused)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []
    finally:
        csv.field_size_limit(limit)


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
        buffered = io.BufferedReader(counter, 1 << 20)
        try:
            rows = self._read(counter, buffered)
            head = [*_take(rows, SAMPLE_ROWS + 1)]
            if head:
                damage = spreadsheet_damage(head[0][1], head[1:])
                if damage:
                    raise SegflowError(Diagnostic(self.display, None, None, damage))
            yield from head
            del head
            for n, item in enumerate(rows, 1):
                yield item
                if self.progress and n % 20_000 == 0:
                    self.progress(self.label, counter.count, total)
        finally:
            buffered.close()
        if self.progress:
            self.progress(self.label, total, total)

    def _read(self, counter: _CountingReader, buffered) -> Iterator[tuple[int, list[str]]]:
        """(first line, fields) of every row; rows that cannot be read cleanly as `BadRow`s."""
        lines = map(_DECODE, _without_bom(buffered))
        reader = csv.reader(lines)
        shadow: _Lines | None = None
        extra = 0  # lines read past the csv reader, skipping the rest of a refused row
        start = 1
        try:
            while True:
                try:
                    for row in reader:
                        end = reader.line_num + extra
                        if counter.damaged:
                            reason = _damage(row)
                            if reason is not None:
                                row = self._bad(start, BadRow(row, reason))
                        if row is not None:
                            yield start, row
                        start = end + 1
                    return
                except csv.Error as exc:
                    shadow = shadow or _Lines(self.path)
                    record = shadow.take(start, reader.line_num + extra)
                    quoted = False
                    for line in record:
                        quoted = _ends_quoted(line, quoted)
                    while quoted:  # read on to the end of the row, as the csv module would
                        line = next(lines, None)
                        if line is None:
                            break
                        extra += 1
                        quoted = _ends_quoted(line, True)
                    end = reader.line_num + extra
                    row = self._bad(start, BadRow(_first_fields(record[0]) if record else [],
                                                  _csv_error(exc, start, end)))
                    if row is not None:
                        yield start, row
                    start = end + 1
        finally:
            if shadow is not None:
                shadow.close()

    def _bad(self, line: int, row: BadRow) -> BadRow | None:
        """The bad row to hand to the caller, or None when it was reported here (nothing in it
        identifies what it belongs to). A bad header is fatal."""
        if line == 1:
            raise SegflowError(Diagnostic(self.display, 1, None, f"header row: {row.reason}"))
        if any(row):
            return row
        self.error(line, row.reason)
        return None

    def error(self, line: int | None, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.display, line, None, message))

    def header_and_rows(self) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
        """The header row and the rows after it; an empty file is an error."""
        rows = self.rows()
        first = next(rows, None)
        if first is None:
            raise SegflowError(Diagnostic(self.display, None, None, "empty file: no header row"))
        return first[1], rows

    @staticmethod
    def locate(header: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, int]:
        """{key: index of the first alias present}; `len(header)` (an empty pad) when absent."""
        names = {name.strip(): i for i, name in reversed(list(enumerate(header)))}
        return {key: next((names[c] for c in candidates if c in names), len(header))
                for key, candidates in aliases.items()}

    def columns(self, header: list[str], required: tuple[str, ...], what: str) -> dict[str, int]:
        index = {name.strip(): i for i, name in reversed(list(enumerate(header)))}
        missing = [c for c in required if c not in index]
        if missing:
            raise SegflowError(Diagnostic(
                self.display, 1, None,
                f"missing required column{'s' * (len(missing) > 1)} "
                f"{', '.join(repr(c) for c in missing)}: is this Shopify's {what} export?"))
        return index


def _take(it: Iterator, n: int) -> Iterator:
    for _ in range(n):
        item = next(it, None)
        if item is None:
            return
        yield item
