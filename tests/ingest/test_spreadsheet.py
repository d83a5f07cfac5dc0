"""An export re-saved by a spreadsheet is refused with one message naming the damage.

The fixtures are what Excel writes back when it opens a Shopify export and saves it as CSV: long
numbers in scientific notation (`7.02255E+12`), zip codes without their leading zero, dates
re-formatted as `2/1/2025 12:00`, amounts without trailing zeros, no byte-order mark.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.sources.shopify_csv import import_shopify_csv

FIX = Path(__file__).parent / "fixtures"
CUSTOMERS = FIX / "customers_export_resaved.csv"
ORDERS = FIX / "orders_export_resaved.csv"
CUSTOMERS_OLD = FIX / "customers_export_old.csv"
RE_EXPORT = (". Re-export the file from Shopify and import it as downloaded, without opening and "
             "saving it in a spreadsheet")


def refused(conn, customers: Path | None, orders: Path | None) -> list[str]:
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(conn, customers, orders, skip_bad_rows=True)
    conn.rollback()
    assert conn.execute("SELECT (SELECT count(*) FROM store.customers),"
                        " (SELECT count(*) FROM store.orders)").fetchone() == (0, 0)
    return [d.render() for d in err.value.diagnostics]


def test_customers_resaved(pg_conn):
    assert refused(pg_conn, CUSTOMERS, None) == [
        f"{CUSTOMERS}: Customer ID looks like a spreadsheet re-saved this file: 7.02255E+12 at "
        "line 2 (an id in scientific notation has lost its last digits); also Phone 1.61356E+10 "
        "at line 2 (a phone number in scientific notation); Default Address Phone 1.40155E+10 "
        "at line 3 (a phone number in scientific notation); Default Address Zip 2134 at line 2 "
        f"(a US zip code that lost its leading zero; 3 such in the first rows){RE_EXPORT}"]


def test_orders_resaved(pg_conn):
    assert refused(pg_conn, None, ORDERS) == [
        f"{ORDERS}: Id looks like a spreadsheet re-saved this file: 5.55E+12 at line 2 (an id "
        "in scientific notation has lost its last digits); also Created at 2/1/2025 12:00 at "
        "line 2 (a re-formatted date; Shopify writes 2025-10-07 09:50:26 +0200); Cancelled at "
        f"2/5/2025 10:00 at line 3 (a re-formatted date; Shopify writes 2025-10-07 09:50:26 "
        f"+0200){RE_EXPORT}"]


def old_layout(tmp_path: Path, zips: list[str]) -> Path:
    """The older customers export (no Customer ID), one US customer per zip."""
    header = CUSTOMERS_OLD.read_text(encoding="utf-8").splitlines()[0]
    rows = [f"C{i},Young,c{i}@example.com,true,,3 Elm St,,Boston,Massachusetts,MA,United States,"
            f"US,{z},+16175550103,false,0.00,0,,,false" for i, z in enumerate(zips)]
    path = tmp_path / "customers_export.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_zips_without_their_leading_zero(pg_conn, tmp_path):
    path = old_layout(tmp_path, ["02134", "2215", "90210", "2903"])
    assert refused(pg_conn, path, None) == [
        f"{path}: Zip looks like a spreadsheet re-saved this file: 2215 at line 3 (a US zip "
        f"code that lost its leading zero; 2 such in the first rows){RE_EXPORT}"]


def test_one_short_zip_is_only_a_typo(pg_conn, tmp_path):
    path = old_layout(tmp_path, ["02134", "2215", "90210"])
    s = import_shopify_csv(pg_conn, path, None)
    assert (s.customers, s.skipped_rows) == (3, 0)


def test_cli_one_message_exit_1(pg_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_DATABASE_URL", pg_db)
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "ingest", "shopify-csv",
                                      "--customers", str(CUSTOMERS), "--skip-bad-rows"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.count("looks like a spreadsheet re-saved this file") == 1
