"""The CSV reader never loses the rows after a bad one, and reports the line where a row starts.

A line number is the physical line of the file where the row starts: 1-based, the header is
line 1, a quoted field spanning lines counts every one of them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.sources.shopify_csv import import_shopify_csv
from segflow.sources.shopify_csv.parsing import CsvFile

FIX = Path(__file__).parent / "fixtures"
LIMIT = csv.field_size_limit()
NOT_UTF8 = "not UTF-8 text (byte 0xFF): the file must be UTF-8, as Shopify exports it"
NUL = "contains a NUL byte (the file is damaged)"
TOO_LONG = f"a field longer than {LIMIT:,} characters (the csv module's limit)"


def read(path: Path) -> tuple[list[tuple[int, str, list[str]]], list[tuple[int, str]]]:
    f = CsvFile(path, path.name)
    out = [(line, getattr(row, "reason", "ok"), row[:1])  # a BadRow has a reason
           for line, row in f.rows()]
    return out, [(d.line, d.message) for d in f.diagnostics]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_line_numbers_and_bad_rows(tmp_path, eol):
    long_quoted = "L" * (LIMIT // 2) + eol + "M" * LIMIT  # over the limit, on two lines
    parts = [
        "\ufeffa,b,c",                       # 1 (with a byte-order mark)
        '1,"two' + eol + 'lines",x',         # 2-3
        "2,ok,x",                            # 4
        "3,\udcff,x",                        # 5: a byte that is not UTF-8
        f'4,"{long_quoted}",x',              # 6-7: a quoted field over the limit
        "5,ok,x",                            # 8
        "6," + "z" * (LIMIT + 1) + ",x",     # 9: an unquoted field over the limit
        '7,"a""b' + eol + '",x',             # 10-11: a quoted quote, then a newline
        "8,nul\0,x",                         # 12
        ",," + "q" * (LIMIT + 1),            # 13
        "9,last,x",                          # 14
    ]
    path = tmp_path / "f.csv"
    path.write_bytes(eol.join(parts).encode("utf-8", "surrogateescape") + eol.encode())
    rows, diagnostics = read(path)
    assert rows == [
        (1, "ok", ["a"]), (2, "ok", ["1"]), (4, "ok", ["2"]), (5, NOT_UTF8, ["3"]),
        (6, f"{TOO_LONG} (lines 6-7 left out)", ["4"]), (8, "ok", ["5"]),
        (9, TOO_LONG, ["6"]), (10, "ok", ["7"]), (12, NUL, ["8"]), (13, TOO_LONG, [""]),
        (14, "ok", ["9"]),
    ]
    assert diagnostics == []  # the caller reports bad rows


def test_a_bad_header_stops_the_file(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"Name,Em\xffail\n#1,a@example.com\n")
    with pytest.raises(SegflowError) as err:
        read(path)
    assert err.value.render() == f"f.csv:1:1: header row: {NOT_UTF8}"


# -- a 30,000-row export with bad rows in the middle --------------------------------------------

ORDERS = 15_000  # two line items each: 30,000 rows
BAD_BYTE, LONG_FIELD, NUL_BYTE = 7_000, 10_000, 12_000  # the orders with a bad line item


def big_export(tmp_path: Path) -> Path:
    """Order #1001 of the hand-written fixture repeated 15,000 times (names and ids changed):
    order 10's Notes span three lines, and one line item of each of three orders is bad (a byte
    that is not UTF-8, a Notes field over the csv limit on two lines, a NUL byte)."""
    with open(FIX / "orders_export.csv", encoding="utf-8-sig", newline="") as f:
        header, first, second, *_ = csv.reader(f)
    col = {name: i for i, name in enumerate(header)}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for k in range(ORDERS):
        a, b = list(first), list(second)
        a[col["Name"]] = b[col["Name"]] = f"#{10_000 + k}"
        a[col["Id"]] = str(6_000_000_000 + k)
        if k == 10:
            a[col["Notes"]] = "leave at the door\nring twice\nthanks"
        if k == BAD_BYTE:
            b[col["Lineitem name"]] = "Ceramic Mug \udcff"
        if k == LONG_FIELD:
            b[col["Notes"]] = "n" * LIMIT + "\n" + "o" * 10
        if k == NUL_BYTE:
            b[col["Lineitem name"]] = "Ceramic\0Mug"
        w.writerows([a, b])
    path = tmp_path / "orders_export.csv"
    path.write_bytes(out.getvalue().encode("utf-8", "surrogateescape"))
    return path


def line_of(k: int, row: int) -> int:
    """The line where row `row` (0, 1) of order k starts: the header, two rows per order, two
    more lines from order 10's Notes, one more from the long Notes of order LONG_FIELD."""
    return 2 + 2 * k + row + (2 if k > 10 else 0) + (1 if k > LONG_FIELD else 0)


EXPECTED = [
    (line_of(BAD_BYTE, 1), NOT_UTF8),
    (line_of(LONG_FIELD, 1),
     f"{TOO_LONG} (lines {line_of(LONG_FIELD, 1)}-{line_of(LONG_FIELD, 1) + 1} left out)"),
    (line_of(NUL_BYTE, 1), NUL),
]


def test_skip_bad_rows_skips_those_rows_only(pg_conn, tmp_path):
    path = big_export(tmp_path)
    s = import_shopify_csv(pg_conn, None, path, skip_bad_rows=True)
    pg_conn.commit()
    assert [(d.line, d.message) for d in s.skipped] == EXPECTED
    assert EXPECTED[0][0] == 14_005 and EXPECTED[2][0] == 24_006
    assert (s.skipped_rows, s.skipped_orders, s.orders, s.line_items) == (
        3, 3, ORDERS - 3, 2 * (ORDERS - 3))
    loaded = pg_conn.execute("SELECT count(*), min(name), max(name) FROM store.orders").fetchone()
    assert loaded == (ORDERS - 3, "#10000", f"#{10_000 + ORDERS - 1}")
    left_out = [f"#{10_000 + k}" for k in (BAD_BYTE, LONG_FIELD, NUL_BYTE)]
    assert pg_conn.execute("SELECT count(*) FROM store.orders WHERE name = ANY(%s)",
                           (left_out,)).fetchone() == (0,)
    assert pg_conn.execute("SELECT count(*) FROM store.order_lines").fetchone() == (
        2 * (ORDERS - 3),)
    notes = pg_conn.execute("SELECT count(*) FROM store.orders WHERE name = '#10011'").fetchone()
    assert notes == (1,)  # the order after the one with three-line Notes


def test_without_skip_every_bad_row_is_listed_and_nothing_loaded(pg_conn, tmp_path):
    path = big_export(tmp_path)
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, None, path)
    assert [(d.file, d.line, d.message) for d in err.value.diagnostics] == [
        (str(path), line, message) for line, message in EXPECTED]
    pg_conn.rollback()
    assert pg_conn.execute("SELECT count(*) FROM store.orders").fetchone() == (0,)


def test_cli_prints_the_counts_loaded(pg_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_DATABASE_URL", pg_db)
    path = big_export(tmp_path)
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "ingest", "shopify-csv", "--orders",
                                      str(path), "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[:3] == [f"skipped: {path}:{line}:1: {message}" for line, message in EXPECTED]
    imported = [line for line in lines if line.startswith("imported ")]
    assert len(imported) == 1 and imported[0].startswith(
        f"imported 0 customers (+1 from order emails), {ORDERS - 3} orders, "
        f"{2 * (ORDERS - 3)} line items; 0 orders without customer; 3 bad rows skipped "
        "(3 orders left out)")
