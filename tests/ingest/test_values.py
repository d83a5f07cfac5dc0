"""Values that Python would take but PostgreSQL refuses are row errors, never a database error.

The scalar parsers accept exactly what Shopify writes and PostgreSQL's column types accept; the
properties below round-trip what they accept through a real PostgreSQL (COPY, as the import
does), into the canonical column types.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.errors import SegflowError
from segflow.sources.shopify_csv import import_shopify_csv
from segflow.sources.shopify_csv.parsing import BadValue, CsvFile, _int, _money, _timestamp

FIX = Path(__file__).parent / "fixtures"
ORDERS = FIX / "orders_export_values.csv"  # #1002 (line 2), #1005 (lines 3-5), #1006 (line 6)


def edit(tmp_path: Path, old: str, new: str) -> Path:
    text = ORDERS.read_text(encoding="utf-8-sig")
    assert text.count(old) == 1, old
    out = tmp_path / ORDERS.name
    out.write_text(text.replace(old, new), encoding="utf-8-sig")
    return out


BAD = [  # (old text, new text, line, message)
    ("30.00,0.00,0.00,30.00,", "30.00,0.00,0.00,1_000.00,", 2,
     "column 'Total': not a number: '1_000.00'"),
    (",1,Grinder,30.00,", ",1,Grinder,٣٠.٠٠,", 3,
     "column 'Lineitem price': not a number: '٣٠.٠٠'"),
    ("40.00,,,40.00,", "40.00,,,123456789012.00,", 6,
     "column 'Total': not an amount (at most 11 digits before the point and 10 after): "
     "'123456789012.00'"),
    ("2025-03-01 10:00:00 -0500", "2026-W49-1", 6,
     "column 'Created at': not a date and time: '2026-W49-1'"),
    ("2025-03-01 10:00:00 -0500", "2025-03-01 10:00:00 +2359", 6,
     "column 'Created at': not a UTC offset PostgreSQL accepts (at most ±15:59): "
     "'2025-03-01 10:00:00 +2359'"),
    ("5550000002", "18446744073709551616", 2,
     "column 'Id': too large for a 64-bit whole number: '18446744073709551616'"),
    (",1,Gift Card,", ",3000000000,Gift Card,", 5,
     "column 'Lineitem quantity': too large for a 32-bit whole number: '3000000000'"),
    (",1,Gift Card,", ",١,Gift Card,", 5, "column 'Lineitem quantity': not a whole number: '١'"),
    ("Grindco", "Grind\0co", 3, "contains a NUL byte (the file is damaged)"),
]


@pytest.mark.parametrize("old, new, line, message", BAD, ids=[b[1] for b in BAD])
def test_a_value_postgresql_refuses_is_a_row_error(pg_conn, tmp_path, old, new, line, message):
    bad = edit(tmp_path, old, new)
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, None, bad)
    assert [(d.file, d.line, d.message) for d in err.value.diagnostics] == [
        (str(bad), line, message)]
    pg_conn.rollback()
    s = import_shopify_csv(pg_conn, None, bad, skip_bad_rows=True)
    pg_conn.commit()
    assert (s.skipped_rows, s.skipped_orders, s.orders) == (1, 1, 2)
    assert pg_conn.execute("SELECT count(*) FROM store.orders").fetchone() == (2,)


# -- for all inputs ---------------------------------------------------------------------------

ODD = "٠١٢٣٤٥٦٧٨٩０１_.,+-eE' \tWTZ:"
NUMBERISH = st.one_of(
    st.text(alphabet="0123456789" + ODD, max_size=30),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.text(max_size=12),
)
ZONES = st.one_of(
    st.sampled_from(["", "Z", " Z", "z"]),
    st.builds(lambda sign, h, m, colon, space: f"{space}{sign}{h:02d}{colon}{m:02d}",
              st.sampled_from("+-"), st.integers(0, 30), st.integers(0, 99),
              st.sampled_from(["", ":"]), st.sampled_from(["", " "])),
    st.builds(lambda sign, h: f"{sign}{h:02d}", st.sampled_from("+-"), st.integers(0, 30)),
)
STAMPISH = st.one_of(
    st.builds(lambda d, t, sep, zone, secs: f"{d.isoformat()}{sep}{t.isoformat(secs)}{zone}",
              st.dates(), st.times(), st.sampled_from([" ", "T", "t", ""]), ZONES,
              st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"])),
    st.dates().map(dt.date.isoformat),
    st.from_regex(r"[0-9]{4}-W[0-9]{2}(-[0-9])?( [0-9]{2}:[0-9]{2})?", fullmatch=True),
    st.text(alphabet="0123456789" + ODD + "-/", max_size=30),
    st.text(max_size=12),
)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
PROBE = """CREATE TEMP TABLE IF NOT EXISTS probe (
    total numeric(14,2), refunded numeric(14,2),
    net numeric(14,2) GENERATED ALWAYS AS (total - refunded) STORED,
    at timestamptz, id bigint, quantity integer, texts text[])"""


def copy_probe(conn, **values) -> tuple:
    """COPY one row into the canonical column types (inside a savepoint) and read it back."""
    conn.execute(PROBE)
    columns = ", ".join(values)
    with conn.transaction(force_rollback=True):
        with conn.cursor().copy(f"COPY probe ({columns}) FROM STDIN") as copy:
            copy.write_row(tuple(values.values()))
        return conn.execute(f"SELECT {columns} FROM probe").fetchone()


def parsed(parser, text: str, column: str):
    try:
        return parser(text, column)
    except BadValue:
        return None


@SETTINGS
@given(text=NUMBERISH)
def test_every_amount_parsed_is_one_postgresql_accepts(pg_conn, text):
    value = parsed(_money, text, "Total")
    if value is None:
        return
    negated = value[1:] if value.startswith("-") else "-" + value.lstrip("+")
    total, refunded = copy_probe(pg_conn, total=value, refunded=negated)
    assert total == Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert refunded == -total


@SETTINGS
@given(text=NUMBERISH, column=st.sampled_from(["Id", "Customer ID", "Lineitem quantity"]))
def test_every_whole_number_parsed_is_one_postgresql_accepts(pg_conn, text, column):
    value = parsed(_int, text, column)
    if value is None:
        return
    target = "quantity" if column == "Lineitem quantity" else "id"
    assert copy_probe(pg_conn, **{target: value}) == (value,)
    assert int(text.strip().lstrip("'")) == value


@SETTINGS
@given(text=STAMPISH)
def test_every_timestamp_parsed_is_one_postgresql_accepts(pg_conn, text):
    value = parsed(_timestamp, text, "Created at")
    if value is None:
        return
    pg_conn.execute("SET TimeZone = 'UTC'")
    (at,) = copy_probe(pg_conn, at=value)
    expected = dt.datetime.fromisoformat(value)
    assert at == (expected if expected.tzinfo else expected.replace(tzinfo=dt.UTC))


PIECES = [b"a", b"1", b",", b'"', b"\n", b"\r\n", b"\r", b"\0", b"\xff", b"\xc3\xa9", b"\xe2\x82",
          b" ", b"'"]


@SETTINGS
@given(body=st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join))
def test_every_field_of_a_good_row_is_text_postgresql_accepts(pg_conn, tmp_path_factory, body):
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(b"a,b,c\n" + body)
    f = CsvFile(path, "f.csv")
    for _line, row in f.rows():
        if not hasattr(row, "reason"):  # a BadRow is reported, never loaded
            assert copy_probe(pg_conn, texts=list(row)) == (list(row),)


def test_a_value_the_database_still_refuses_is_one_clear_error(pg_conn, monkeypatch):
    """Should a check ever let a value through that PostgreSQL refuses, the import ends in one
    message (rolled back), not a traceback."""
    from segflow.sources.shopify_csv import parsing

    monkeypatch.setattr(parsing, "_money", lambda text, column: "1_000" if text.strip() else None)
    with pytest.raises(SegflowError) as err:
        import_shopify_csv(pg_conn, None, ORDERS)
    assert err.value.render().startswith(
        "the database refused a value while loading: invalid input syntax for type numeric: "
        '"1_000" (COPY seg_stg_')
    pg_conn.rollback()
    assert pg_conn.execute("SELECT count(*) FROM store.orders").fetchone() == (0,)
