"""The plan rendered as text, JSON and Markdown (snapshots), the Markdown size limit, and
`seg plan --detailed-exitcode`."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.cli.render_plan import as_json, as_markdown, as_text
from tests.runtime import helpers as h

BEFORE = """
group lifecycle { title = "Lifecycle" }
group old { title = "Old" }
segment buyers { title = "Buyers" groups = [lifecycle] where order_count >= 1 }
segment repeat { groups = [lifecycle, old] tag = "seg-repeat" where order_count >= 2 }
segment vips { tag = "seg-vip" where tags contains "vip" }
"""
AFTER = """
group lifecycle { title = "Lifecycle" }
group journeys { title = "Journeys" }
segment buyers { title = "Buyers" groups = [lifecycle] where order_count >= 1 }
segment repeat { groups = [lifecycle] tag = "seg-repeat" where order_count >= 3 }
segment recent { groups = [journeys] tag = "seg-recent" where days_since_last_order <= 30 }
segment one_order { groups = [journeys] where order_count = 1 }
"""


@pytest.fixture
def mixed_plan(conn, tmp_path):
    """Creates (recent, one_order), an update (repeat), a retire (vips), group changes."""
    h.plan_apply(conn, h.project(BEFORE, tmp_path), tmp_path)
    plan = h.plan(conn, h.project(AFTER, tmp_path))
    assert plan.counts() == {"create": 2, "update": 1, "retire": 1, "unchanged": 1}
    return plan


def test_plan_as_text(mixed_plan, snapshot):
    text = as_text(mixed_plan, colour=False)
    assert "\x1b[" not in text
    assert text == snapshot


def test_plan_as_json(mixed_plan, tmp_path, snapshot):
    data = json.loads(as_json(mixed_plan))
    assert data["created_at"]
    data["created_at"] = "<created_at>"
    data["base_fingerprint"] = "<fingerprint>"
    for d in data["desired_segments"]:
        d["fingerprint"] = "<fingerprint>"
        d["compiled_sql"] = "<compiled sql>"  # compiled SQL shapes have their own snapshots
    for c in data["segments"]:
        if c["compiled_sql"] is not None:
            assert c["compiled_sql"].startswith("WITH counted_orders AS")
            c["compiled_sql"] = "<compiled sql>"
    normalised = json.dumps(data, indent=2).replace(str(tmp_path), "<root>")
    assert normalised == snapshot


def test_plan_as_markdown(mixed_plan, snapshot):
    md = as_markdown(mixed_plan)
    assert md.count("<details>") == 4 and "omitted" not in md
    assert md == snapshot


def _well_formed(md: str) -> None:
    fences = [line for line in md.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0, md
    assert md.count("<details>") == md.count("</details>")


def test_markdown_stays_under_a_tiny_limit_and_well_formed(mixed_plan):
    full = as_markdown(mixed_plan)
    _well_formed(full)
    smallest = len(as_markdown(mixed_plan, limit=0))  # table and summary only
    shown = set()
    for limit in range(smallest, len(full) + 250, 37):  # 200 chars are kept spare
        md = as_markdown(mixed_plan, limit=limit)
        assert len(md) <= limit, (limit, len(md))
        _well_formed(md)
        kept = md.count("<details>")
        shown.add(kept)
        if kept < 4:
            assert f"{4 - kept} more change detail(s) omitted" in md
        assert md.rstrip().endswith(".")  # the summary line is always last
        assert "| `repeat` | update |" in md  # the table is never dropped
    assert {0, 4} <= shown and len(shown) > 2
    tiny = as_markdown(mixed_plan, limit=0)
    assert "4 more change detail(s) omitted" in tiny and "```" not in tiny


def _project_dir(tmp_path, text: str):
    root = tmp_path / "proj"
    (root / "segments").mkdir(parents=True, exist_ok=True)
    (root / "seg.toml").write_text('[project]\nsegments = "segments"\n\n'
                                   '[store]\ntimezone = "America/Toronto"\n')
    (root / "segments" / "main.seg").write_text(text)
    return root


def test_detailed_exitcode_is_2_with_changes_and_0_without(store_db, tmp_path):
    root = _project_dir(tmp_path, "segment buyers {\n  where order_count >= 1\n}\n")
    runner = CliRunner()
    env = {"SEG_DATABASE_URL": store_db}
    args = ["-C", str(root), "plan", "--detailed-exitcode"]
    first = runner.invoke(cli, args, env=env)
    assert first.exit_code == 2, first.output
    assert "+ segment buyers: " in first.output
    applied = runner.invoke(cli, ["-C", str(root), "apply", "--auto-approve"], env=env)
    assert applied.exit_code == 0, applied.output
    again = runner.invoke(cli, args, env=env)
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    without_flag = runner.invoke(cli, ["-C", str(root), "plan"], env=env)
    assert without_flag.exit_code == 0
    (root / "segments" / "main.seg").write_text("segment buyers {\n  where order_count >= 2\n}\n")
    changed = runner.invoke(cli, [*args, "--format", "json"], env=env)
    assert changed.exit_code == 2
    assert json.loads(changed.stdout)["segments"][0]["action"] == "update"
    shutil.rmtree(root)


def test_markdown_without_changes(conn, tmp_path):
    proj = h.project(BEFORE, tmp_path)
    h.plan_apply(conn, proj, tmp_path)
    md = as_markdown(h.plan(conn, proj))
    assert re.search(r"No changes\. The applied segments match the files\.", md)
    assert "<details>" not in md
