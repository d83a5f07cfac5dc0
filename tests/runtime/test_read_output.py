"""What the reading commands print: `seg ls --date` outside the history, `seg members` paged and
as of a day, `seg changes`, ids never grouped, tables within the terminal's width, plurals."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from segflow.cli.main import cli
from tests.runtime import helpers

RULES = """
group lifecycle {
}

segment buyers {
  title = "Buyers"
  groups = [lifecycle]
  where order_count >= 1
}

segment vips {
  title = "Customers tagged as very important people, whose title is far too long for a table"
  where tags contains "vip"
}
"""
DAY1 = helpers.AS_OF - dt.timedelta(days=1)
BIG_ID = 6_200_000_000_012


def _seg(store_db, tmp_path, columns: int = 80):
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db, "COLUMNS": str(columns),
                            "NO_COLOR": "1"})
    return lambda *args: runner.invoke(cli, ["-C", str(tmp_path), *args])


def _two_days(conn, tmp_path) -> None:
    """vips on DAY1: 1, 4, 9. Then 4 loses the tag and a customer with a 13-digit id gets it:
    on AS_OF, 4 left and BIG_ID entered."""
    proj = helpers.project(RULES, tmp_path)
    helpers.plan_apply(conn, proj, tmp_path, DAY1)
    helpers.run(conn, DAY1, tmp_path)
    conn.execute("UPDATE store.customers SET tags = '{}' WHERE customer_id = 4")
    conn.execute("INSERT INTO store.customers (customer_id, email, tags, country_code)"
                 " VALUES (%s, 'big@example.com', '{vip}', 'CA')", (BIG_ID,))
    helpers.run(conn, helpers.AS_OF, tmp_path)


def test_ls_date_before_any_history_says_so(conn, store_db, tmp_path):
    seg = _seg(store_db, tmp_path)
    helpers.plan_apply(conn, helpers.project(RULES, tmp_path), tmp_path)
    none_yet = seg("ls", "--date", "2025-03-01")
    assert none_yet.exit_code == 1
    assert "no history recorded for 2025-03-01 (no day recorded yet" in none_yet.output
    helpers.run(conn, helpers.AS_OF, tmp_path)
    before = seg("ls", "--date", "2025-03-01")
    assert before.exit_code == 1, before.output
    assert before.output.startswith("no history recorded for 2025-03-01 (first recorded day: "
                                    "2025-03-15")
    assert "Traceback" not in before.output and "customers" not in before.output
    assert seg("ls", "--date", "2025-03-15").exit_code == 0


def test_members_are_paged_in_a_table(conn, store_db, tmp_path, monkeypatch):
    from segflow.cli import read_cmds

    _two_days(conn, tmp_path)
    seg = _seg(store_db, tmp_path, columns=120)
    monkeypatch.setattr(read_cmds, "PAGE", 3)
    out = seg("members", "buyers")
    assert out.exit_code == 0, out.output
    assert "buyers: 8 customers" in out.output
    assert "showing 1–3 of 8; --all for every member, or --limit N --offset M" in out.output
    page2 = seg("members", "buyers", "--limit", "3", "--offset", "3")
    assert "showing 4–6 of 8" in page2.output
    everyone = seg("members", "buyers", "--all")
    assert "showing" not in everyone.output
    # programs get every member
    assert len(json.loads(seg("members", "buyers", "--format", "json").output)) == 8
    assert seg("members", "buyers", "--all", "--limit", "2").exit_code == 2


def test_members_on_a_recorded_day_and_the_days_changes(conn, store_db, tmp_path):
    _two_days(conn, tmp_path)
    seg = _seg(store_db, tmp_path, columns=120)
    now = json.loads(seg("members", "vips", "--format", "json").output)
    assert [m["customer_id"] for m in now] == [1, 9, BIG_ID]
    then = json.loads(seg("members", "vips", "--date", str(DAY1), "--format", "json").output)
    assert [m["customer_id"] for m in then] == [1, 4, 9]
    assert f"vips on {DAY1}: 3 customers" in seg("members", "vips", "--date", str(DAY1)).output
    far = seg("members", "vips", "--date", "2020-01-01")
    assert far.exit_code == 1 and "no membership history for 2020-01-01" in far.output

    changes = json.loads(seg("changes", "vips", "--format", "json").output)
    assert changes["day"] == str(helpers.AS_OF)
    assert (changes["entered"], changes["left"]) == (1, 1)
    assert [(r["change"], r["customer_id"]) for r in changes["rows"]] == [
        ("entered", BIG_ID), ("left", 4)]
    first = json.loads(seg("changes", "vips", "--date", str(DAY1), "--format", "json").output)
    assert [r["customer_id"] for r in first["rows"]] == [1, 4, 9]  # entered when applied
    text = seg("changes", "vips").output
    assert f"vips on {helpers.AS_OF}: 1 entered, 1 left" in text
    helpers.run(conn, helpers.AS_OF + dt.timedelta(days=1), tmp_path)
    quiet = seg("changes", "vips")
    assert quiet.exit_code == 0 and "no one entered or left that day" in quiet.output
    unknown = seg("changes", "vip")
    assert unknown.exit_code == 1 and "did you mean 'vips'" in unknown.output


def test_ids_are_never_grouped(conn, store_db, tmp_path):
    _two_days(conn, tmp_path)
    seg = _seg(store_db, tmp_path, columns=120)
    for args in (("members", "vips"), ("changes", "vips")):
        out = seg(*args).output
        assert str(BIG_ID) in out and "6,200,000,000,012" not in out, out


def test_tables_fit_an_80_column_terminal(conn, store_db, tmp_path):
    _two_days(conn, tmp_path)
    seg = _seg(store_db, tmp_path, columns=80)
    for args in (("ls",), ("members", "vips"), ("changes", "vips"), ("history", "vips"),
                 ("group", "show", "lifecycle")):
        out = seg(*args)
        assert out.exit_code == 0, out.output
        wide = [line for line in out.output.splitlines() if len(line) > 80]
        assert not wide, "\n".join([" ".join(args), *wide])


def test_validate_says_1_group_in_1_file(tmp_path):
    (tmp_path / "seg.toml").write_text("")
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments/a.seg").write_text("group g {\n}\n\nsegment s {\n  groups = [g]\n"
                                             "  where order_count >= 1\n}\n")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ok: 1 segment, 1 group in 1 file"


def _grid_html(store_db) -> str:
    from segflow.web.app import Dashboard, ReadOnlyDatabase
    from segflow.web.view import View

    database = ReadOnlyDatabase(store_db)
    try:
        status, _, body = Dashboard(database, View()).respond("GET", "/", "")
    finally:
        database.close()
    assert status == 200
    return body.decode()


def test_grid_shows_no_change_against_days_never_recorded(conn, store_db, tmp_path):
    import re

    helpers.plan_apply(conn, helpers.project(RULES, tmp_path), tmp_path, DAY1)
    helpers.run(conn, DAY1, tmp_path)
    html = _grid_html(store_db)
    assert f"Metrics on {DAY1}" in html
    assert not re.findall(r'<span class="d [a-z]+">(1d|7d) ', html)  # the first recorded day
    conn.execute("UPDATE store.customers SET tags = '{}' WHERE customer_id = 4")
    helpers.run(conn, helpers.AS_OF, tmp_path)
    html = _grid_html(store_db)
    assert re.search(r'<span class="d down">1d −1</span>', html)  # vips: 3 -> 2 since DAY1
    assert "7d " not in re.sub(r"<p[^>]*>.*?</p>", "", html, flags=re.S).split("<tbody>")[1]


def test_for_all_rows_a_table_fits_the_terminal():
    """Titles of any text (wide letters, emoji, long words), ids up to 30 characters and any
    figures: at 80 columns and more, no line of the table is wider than the terminal."""
    import io
    import sys

    from hypothesis import given, settings
    from hypothesis import strategies as st
    from rich.cells import cell_len

    from segflow.cli import output
    from segflow.cli.read_cmds import GRID, HEADERS

    ids = st.from_regex(r"[a-z][a-z0-9_]{0,29}", fullmatch=True)
    text = st.text(st.characters(categories=("L", "N", "P", "Zs", "So")), max_size=120)
    figure = st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False))
    row = st.fixed_dictionaries({"id": ids, "title": text,
                                 "customer_count": st.integers(0, 10**9),
                                 "repeat_customer_rate": st.one_of(st.none(), st.floats(0, 1)),
                                 "lifetime_value": figure, "average_order_value": figure,
                                 "average_order_count": figure,
                                 "purchase_interval_days": figure})

    @settings(max_examples=60, deadline=None)
    @given(st.lists(row, max_size=6), st.integers(80, 160))
    def check(rows, columns):
        import os

        out = io.StringIO()
        old_env, old_out = os.environ.get("COLUMNS"), sys.stdout
        os.environ["COLUMNS"] = str(columns)
        sys.stdout = out
        try:
            output.emit(rows, GRID, "table", title="Segments", headers=HEADERS)
        finally:
            sys.stdout = old_out
            if old_env is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = old_env
        wide = [line for line in out.getvalue().splitlines() if cell_len(line) > columns]
        assert not wide, wide

    check()
