"""Reading results through the CLI: ls, show, members, history, activity (JSON keys are stable)."""

from __future__ import annotations

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
  where tags contains "vip"
}
"""

GRID_KEYS = {"id", "title", "customer_count", "repeat_customer_rate", "lifetime_value",
             "average_order_value", "average_order_count", "purchase_interval_days"}


def _setup(conn, store_db, tmp_path):
    proj = helpers.project(RULES, tmp_path)
    helpers.plan_apply(conn, proj, tmp_path)
    helpers.run(conn, helpers.AS_OF, tmp_path)
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db})
    return lambda *args: runner.invoke(cli, ["-C", str(tmp_path), *args])


def test_ls_json_has_the_six_metrics(conn, store_db, tmp_path):
    seg = _setup(conn, store_db, tmp_path)
    result = seg("ls", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["day"] == "2025-03-15"
    rows = {r["id"]: r for r in data["rows"]}
    assert set(rows["buyers"]) >= GRID_KEYS
    assert rows["buyers"]["customer_count"] == 8
    assert rows["vips"]["customer_count"] == 3


def test_ls_filters_and_sorts(conn, store_db, tmp_path):
    seg = _setup(conn, store_db, tmp_path)
    by_group = json.loads(seg("ls", "--group", "lifecycle", "--format", "json").output)["rows"]
    assert [r["id"] for r in by_group] == ["buyers"]
    sorted_rows = json.loads(seg("ls", "--sort", "customer_count", "--format", "json").output)
    assert [r["id"] for r in sorted_rows["rows"]] == ["buyers", "vips"]
    assert [r["id"] for r in json.loads(seg("ls", "--search", "VIP", "--format",
                                            "json").output)["rows"]] == ["vips"]
    bad = seg("ls", "--group", "lifecycl")
    assert bad.exit_code == 1 and "did you mean 'lifecycle'" in bad.output


def test_members_history_activity_show(conn, store_db, tmp_path):
    seg = _setup(conn, store_db, tmp_path)
    members = json.loads(seg("members", "vips", "--format", "json").output)
    assert [m["customer_id"] for m in members] == [1, 4, 9]
    csv_out = seg("members", "vips", "--format", "csv").output.splitlines()
    assert csv_out[0].startswith("customer_id,email") and len(csv_out) == 4
    history = json.loads(seg("history", "buyers", "--format", "json").output)
    assert [h["day"] for h in history] == ["2025-03-15"]
    activity = json.loads(seg("activity", "buyers", "--format", "json").output)
    assert activity == [{"day": "2025-03-15", "orders": 2, "revenue": 65.0, "backfilled": False}]
    shown = json.loads(seg("show", "buyers", "--format", "json").output)
    assert shown["members"] == 8 and shown["groups"] == ["lifecycle"]
    unknown = seg("show", "buyer")
    assert unknown.exit_code == 1 and "did you mean 'buyers'" in unknown.output


def test_group_ls_and_show(conn, store_db, tmp_path):
    seg = _setup(conn, store_db, tmp_path)
    groups = json.loads(seg("group", "ls", "--format", "json").output)
    assert groups == [{"id": "lifecycle", "title": "lifecycle", "segments": 1}]
    shown = json.loads(seg("group", "show", "lifecycle", "--format", "json").output)
    assert [r["id"] for r in shown] == ["buyers"]
    assert seg("group", "show", "nope").exit_code == 1
