"""The analytics commands as people and programs see them: text and JSON snapshots on the
generated store, and one clear message with exit code 1 for every request that cannot be met."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli

COMMANDS = {
    "revenue_daily": ["revenue", "active", "--from", "2026-06-05", "--to", "2026-06-13"],
    "revenue_start": ["revenue", "active", "--from", "2026-06-14", "--to", "2026-06-20",
                      "--cohort", "start"],
    "revenue_before_history": ["revenue", "late", "--from", "2026-05-30", "--to", "2026-06-04"],
    "features": ["features", "repeaters", "--top", "3"],
    "journey": ["journey", "lifecycle", "--from", "2026-05-26", "--to", "2026-06-17"],
    "journey_many_states": ["journey", "everything", "--from", "2026-06-01", "--to",
                            "2026-06-17"],
    "overlap": ["overlap", "active", "repeaters", "big_spenders", "--date", "2026-06-10"],
}


@pytest.fixture
def seg(store_db, tmp_path):
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db, "COLUMNS": "100"})
    return lambda *args: runner.invoke(cli, ["-C", str(tmp_path), *args])


@pytest.mark.parametrize("name", COMMANDS)
def test_text_and_json_output(seg, snapshot, name):
    text = seg(*COMMANDS[name])
    assert text.exit_code == 0, text.output
    as_json = seg(*COMMANDS[name], "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert text.output == snapshot(name=f"{name}.txt")
    assert json.loads(as_json.output) == snapshot(name=f"{name}.json")


def test_csv_output_has_one_row_per_value(seg):
    lines = seg("features", "repeaters", "--top", "2", "--format", "csv").output.splitlines()
    assert lines[0] == "list,value,members,member_share,orders,customers,customer_share,lift"
    assert len(lines) == 1 + 5 * 2
    journey = seg("journey", "lifecycle", "--from", "2026-05-26", "--to", "2026-06-17",
                  "--format", "csv").output.splitlines()
    assert journey[0] == "from,to,customers" and "(none),one_timers,23" in journey


@pytest.mark.parametrize(("args", "message"), [
    (["revenue", "actve", "--from", "2026-06-01", "--to", "2026-06-02"],
     "unknown segment 'actve' — did you mean 'active'? (is it applied? see `seg plan`)"),
    (["revenue", "active", "--from", "2025-06-01", "--to", "2026-06-01"],
     "the period 2025-06-01 to 2026-06-01 is longer than one year: --to must be before "
     "2026-06-01"),
    (["revenue", "active", "--from", "2026-06-02", "--to", "2026-06-01"],
     "the period starts after it ends: --from 2026-06-02 is after --to 2026-06-01"),
    (["features", "nope"], "unknown segment 'nope' (is it applied? see `seg plan`)"),
    (["journey", "lifecycle", "--from", "2026-05-01", "--to", "2026-06-01"],
     "segment 'active' has no membership history for 2026-05-01: its history covers "
     "2026-05-25 to 2026-06-17 (`seg backfill` can reproduce earlier days)"),
    (["journey", "nope", "--from", "2026-06-01", "--to", "2026-06-02"], "unknown group 'nope'"),
    (["overlap", "active"], "overlap needs at least two segments"),
])
def test_errors_are_one_clear_message_and_exit_code_1(seg, args, message):
    result = seg(*args)
    assert result.exit_code == 1
    assert result.output.strip() == message
