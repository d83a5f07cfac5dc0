"""Text values that never occur in the store are warned about, with did-you-mean (issue 15.21).

On the hand-built store of tests/compiler/store_data.py: countries CA and US, tags "vip",
"loyal", "wholesale", "VIP Gold", products "Espresso Blend", "Coffee Starter Kit", ...
"""

from __future__ import annotations

import json
import shutil
import time

import psycopg
import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.compiler.catalog import CUSTOMER_NAMESPACE
from segflow.lifecycle.value_check import field_query, value_warnings
from tests.runtime import helpers as h

RULES = """\
segment espreso {
  where first_order.product = "Espreso Blend"
}

segment canadians {
  where country = "ca" or province in ["ON", "qc", "Nowhere"]
}

segment fine {
  where country = "CA" and tags = "vip" and orders[product = "Espresso Blend"].count >= 1
}

segment tagged {
  where tags in ["VIP gold", "loyal"] and not orders.order_tags = "anything"
}

segment far_from_everything {
  where city != "Zzyzx"
}
"""


def test_values_that_never_occur_are_warned_with_did_you_mean(conn, tmp_path, snapshot):
    warnings = value_warnings(conn, h.project(RULES, tmp_path))
    assert [w.render() for w in warnings] == snapshot
    assert {w.severity for w in warnings} == {"warning"}


def test_values_that_occur_give_no_warning(conn, tmp_path):
    rules = 'segment a {\n  where country in ["CA", "US"] and first_order.product = "Coffee Starter Kit"\n}\n'
    assert value_warnings(conn, h.project(rules, tmp_path)) == []


def test_a_field_with_no_data_yet_is_not_warned_about(conn, tmp_path):
    # no order has order tags: nothing to compare with (a store not loaded yet), so no warning
    conn.execute("UPDATE store.orders SET tags = '{}'")
    rules = 'segment a {\n  where orders.order_tags = "gift"\n}\n'
    assert value_warnings(conn, h.project(rules, tmp_path)) == []


def test_one_query_per_field_whatever_the_number_of_values(conn, tmp_path):
    values = ", ".join(f'"C{i}"' for i in range(200))
    rules = f'segment a {{\n  where country in [{values}] or city = "X" or city = "Y"\n}}\n'
    statements = []
    conn.add_notice_handler(lambda _n: None)
    real_execute = psycopg.Connection.execute

    def counting(self, query, *args, **kwargs):
        statements.append(str(query))
        return real_execute(self, query, *args, **kwargs)

    psycopg.Connection.execute = counting
    try:
        warnings = value_warnings(conn, h.project(rules, tmp_path))
    finally:
        psycopg.Connection.execute = real_execute
    lookups = [s for s in statements if "UNION ALL" in s]
    assert len(lookups) == 2  # country, city
    assert len(warnings) == 202


def test_a_slow_field_is_skipped_and_said_so(conn, store_db, tmp_path):
    rules = 'segment a {\n  where country = "ca"\n}\n'
    other = psycopg.connect(store_db, autocommit=False)  # holds a lock: the lookup must wait
    try:
        other.execute("LOCK TABLE store.customers IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        warnings = value_warnings(conn, h.project(rules, tmp_path), timeout_ms=300)
        assert time.monotonic() - started < 5
    finally:
        other.rollback()
        other.close()
    assert [w.message for w in warnings] == [
        "the values of 'country' were not checked against the store: it took over 0.3 s"]
    # the connection is usable afterwards, with its own timeout back
    assert conn.execute("SELECT current_setting('statement_timeout')").fetchone()[0] == "0"


def test_values_are_quoted_in_the_query():
    sql = field_query(CUSTOMER_NAMESPACE["country"], ["x'); DROP TABLE store.customers; --"], 10)
    from segflow.compiler.query import render

    assert "'x''); DROP TABLE store.customers; --'" in render(sql)


def _project_dir(tmp_path, text: str):
    root = tmp_path / "proj"
    (root / "segments").mkdir(parents=True)
    (root / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    (root / "segments" / "main.seg").write_text(text)
    return root


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_validate_store_warns_and_exits_0(store_db, tmp_path, fmt, snapshot):
    root = _project_dir(tmp_path, RULES)
    result = CliRunner().invoke(cli, ["-C", str(root), "validate", "--store", "--format", fmt],
                                env={"SEG_DATABASE_URL": store_db})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)["warnings"] if fmt == "json" else result.output.splitlines()
    assert out == snapshot
    shutil.rmtree(root)


def test_validate_without_store_does_not_look(tmp_path):
    root = _project_dir(tmp_path, RULES)
    result = CliRunner().invoke(cli, ["-C", str(root), "validate"],
                                env={"SEG_DATABASE_URL": "postgresql://nowhere.invalid/x"})
    assert result.exit_code == 0 and "warning" not in result.output


def test_plan_prints_the_warnings(store_db, tmp_path):
    root = _project_dir(tmp_path, RULES)
    result = CliRunner().invoke(cli, ["-C", str(root), "plan"], env={"SEG_DATABASE_URL": store_db})
    assert result.exit_code == 0, result.output
    assert ('segments/main.seg:2:31: warning: "Espreso Blend" never occurs as product in the '
            'store — did you mean "Espresso Blend"?') in result.stderr
    assert "+ segment espreso" in result.stdout


def test_the_nth_order_values_are_checked_too(conn, tmp_path):
    # nth (issue 19.2): `order(N).product` is an order scope like the others
    project = h.project('segment third {\n  where order(3).product = "Espreso Blend"\n}\n',
                        tmp_path)
    (warning,) = value_warnings(conn, project)
    assert "Espreso Blend" in warning.message and "Espresso Blend" in warning.message
