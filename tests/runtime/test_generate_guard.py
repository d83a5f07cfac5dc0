"""`seg generate` never replaces store data it did not generate, unless `--replace`; `seg demo`
decides with the same check (sources/store_origin.py)."""

from __future__ import annotations

from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.sources.store_origin import check_replaceable, holds_foreign_data
from tests.runtime import helpers as h

STORE = ("SELECT (SELECT count(*) FROM store.customers), (SELECT count(*) FROM store.orders),"
         " (SELECT count(*) FROM store.order_lines), (SELECT min(email) FROM store.customers)")


def _seg(store_db, tmp_path):
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db})
    return lambda *args: runner.invoke(cli, ["-C", str(tmp_path), *args])


def test_generate_refuses_to_replace_imported_store_data(conn, store_db, tmp_path):
    seg = _seg(store_db, tmp_path)
    imported = conn.execute(STORE).fetchone()  # the hand-built store: not generated
    result = seg("generate", "--customers", "40", "--seed", "3")
    assert result.exit_code == 1, result.output
    assert "holds data that segflow did not generate (14 customers" in result.output
    assert "seg generate --replace" in result.output
    assert "Traceback" not in result.output
    assert conn.execute(STORE).fetchone() == imported  # nothing replaced


def test_generate_replace_replaces_and_then_generating_again_needs_no_flag(conn, store_db,
                                                                          tmp_path):
    seg = _seg(store_db, tmp_path)
    first = seg("generate", "--customers", "40", "--seed", "3", "--replace")
    assert first.exit_code == 0, first.output
    assert conn.execute("SELECT count(*) FROM store.customers").fetchone() == (40,)
    again = seg("generate", "--customers", "30", "--seed", "4")  # its own data: replaced freely
    assert again.exit_code == 0, again.output
    assert conn.execute("SELECT count(*) FROM store.customers").fetchone() == (30,)
    assert "replacing the store data" in again.output and "127.0.0.1" in again.output


def test_data_written_after_a_generation_is_not_replaced(conn, store_db, tmp_path):
    seg = _seg(store_db, tmp_path)
    assert seg("generate", "--customers", "30", "--replace").exit_code == 0
    conn.execute("INSERT INTO store.customers (customer_id, email, created_at)"
                 " VALUES (1, 'real@shop.example', now())")  # an import on top
    result = seg("generate", "--customers", "30")
    assert result.exit_code == 1
    assert "31 customers" in result.output
    assert conn.execute("SELECT count(*) FROM store.customers").fetchone() == (31,)


def test_an_empty_store_is_generated_into_without_a_flag(conn, store_db, tmp_path):
    conn.execute("TRUNCATE store.customers, store.orders, store.order_lines")
    assert holds_foreign_data(conn) is None
    result = _seg(store_db, tmp_path)("generate", "--customers", "20")
    assert result.exit_code == 0, result.output


def test_demo_shares_the_check_and_still_accepts_its_old_mark(conn):
    try:
        check_replaceable(conn, command="seg demo", force_flag="--reset", where="x")
        raise AssertionError("imported data accepted")
    except SegflowError as exc:
        assert "`seg demo --reset` replaces it" in str(exc)
    conn.execute("COMMENT ON SCHEMA store IS 'segflow demo store'")  # left by an older seg demo
    assert holds_foreign_data(conn) is None
    assert h.count(conn, "store.customers") == 14
