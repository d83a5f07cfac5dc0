"""`seg plan --offline`: definition changes against a git base, no database, and it says so."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.gitops.scratch import Repo, without_sql

# Any attempt to reach a database fails: offline must never try.
NO_DATABASE = {"SEG_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere"}
LIFECYCLE = "segments/lifecycle.seg"


TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Repo:
    # the compiled SQL in the plan holds dates relative to today: pin it
    monkeypatch.setattr("segflow.cli.state_cmds.today_in", lambda _tz: TODAY)
    return Repo(tmp_path / "shop", env=NO_DATABASE)


@pytest.fixture
def branch(repo: Repo) -> Repo:
    """A branch that adds a template segment, duplicates one, changes a rule and a tag, and
    retires a segment."""
    repo.git("checkout", "-q", "-b", "more-segments")
    done = repo.seg("template", "new", "high_value_customers", "big_spenders", "--offline",
                    "--set", "amount=300")
    assert done.exit_code == 0, done.output
    done = repo.seg("duplicate", "loyals", "loyals_copy")
    assert done.exit_code == 0, done.output
    repo.edit(LIFECYCLE, "where order_count >= 5", "where order_count >= 6")
    repo.edit(LIFECYCLE, 'tag = "seg-at-risk"', 'tag = "seg-slipping"')
    text = (repo.path / LIFECYCLE).read_text()
    start = text.index("segment churned {")
    repo.write(LIFECYCLE, text[:start].rstrip() + "\n")
    repo.commit("more segments")
    return repo


def _stable(text: str) -> str:
    """Commit ids would change with the scaffold's text."""
    return re.sub(r"\b[0-9a-f]{7}\b", "<commit>", text)


def test_text_lists_definition_changes_and_says_counts_are_unavailable(branch: Repo, snapshot):
    done = branch.seg("plan", "--offline", "--detailed-exitcode")
    assert done.exit_code == 2, done.output
    assert "member counts" in done.output and "not available" in done.output
    assert "main (merge base" in done.output
    assert _stable(done.output) == snapshot


def test_markdown_has_the_marker_and_no_member_columns(branch: Repo, snapshot):
    done = branch.seg("plan", "--offline", "--format", "markdown")
    assert done.exit_code == 0, done.output
    md = done.output
    assert md.startswith("<!-- segflow-plan -->\n### segflow plan (offline)")
    assert "not available" in md and "| members |" not in md
    assert md.count("<details>") == 5  # 2 created, 2 changed, 1 retired
    assert _stable(without_sql(md)) == snapshot


def test_json_member_figures_are_null_not_zero(branch: Repo):
    done = branch.seg("plan", "--offline", "--format", "json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["offline"] is True
    assert data["base"].startswith("main (merge base ")
    assert any("not available" in n for n in data["notes"])
    actions = {s["id"]: s["action"] for s in data["segments"]}
    assert actions == {"active": "unchanged", "at_risk": "update", "big_spenders": "create",
                       "churned": "retire", "loyals": "update", "loyals_copy": "create",
                       "one_timers": "unchanged", "repeaters": "unchanged"}
    for s in data["segments"]:
        for key in ("members_before", "members_after", "entering", "leaving", "tag_adds",
                    "tag_removes"):
            assert s[key] is None, (s["id"], key)
    groups = {g["id"]: (g["action"], g["segments_added"], g["segments_removed"])
              for g in data["groups"]}
    assert groups == {"lifecycle": ("update", ["loyals_copy"], ["churned"])}


def test_default_base_is_the_merge_base_so_newer_main_is_not_shown_reverted(branch: Repo):
    branch.git("checkout", "-q", "main")
    branch.write("segments/newer.seg", "segment newer_on_main {\n  where order_count >= 9\n}\n")
    branch.commit("newer on main")
    branch.git("checkout", "-q", "more-segments")
    default = json.loads(branch.seg("plan", "--offline", "--format", "json").output)
    assert "newer_on_main" not in {s["id"] for s in default["segments"]}
    tip = json.loads(branch.seg("plan", "--offline", "--base", "main", "--format", "json").output)
    retired = {s["id"] for s in tip["segments"] if s["action"] == "retire"}
    assert retired == {"churned", "newer_on_main"}  # main's tip is what the branch replaces
    assert tip["base"].startswith("main (")


def test_uncommitted_changes_count_and_a_clean_tree_has_no_changes(repo: Repo):
    done = repo.seg("plan", "--offline", "--detailed-exitcode")
    assert done.exit_code == 0, done.output
    assert "No changes. The segment files match the base." in done.output
    repo.edit(LIFECYCLE, 'title = "Active"', 'title = "Active buyers"')
    done = repo.seg("plan", "--offline", "--detailed-exitcode")
    assert done.exit_code == 2, done.output
    assert "~ segment active: changed  (changed: title)" in done.output


def test_a_folder_as_base(branch: Repo, tmp_path: Path):
    other = tmp_path / "main-checkout"
    branch.git("worktree", "add", "-q", str(other), "main")
    done = branch.seg("plan", "--offline", "--base", str(other), "--format", "json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["base"] == f"the folder {other}"
    assert {s["id"] for s in data["segments"] if s["action"] == "create"} == {
        "big_spenders", "loyals_copy"}


def test_without_git_every_segment_is_listed_as_defined(repo: Repo, tmp_path: Path):
    loose = tmp_path / "loose"
    shutil.copytree(repo.path, loose, ignore=shutil.ignore_patterns(".git"))
    done = repo.seg("-C", str(loose), "plan", "--offline", project=False)
    assert done.exit_code == 0, done.output
    assert "is not in a git repository" in done.output
    assert "every segment is listed as defined" in done.output
    assert "Plan (offline, definitions only): 6 to create, 0 to change" in done.output


def test_a_missing_base_is_one_clear_error(repo: Repo):
    done = repo.seg("plan", "--offline", "--base", "origin/nope")
    assert done.exit_code == 1
    assert "--base origin/nope: no such git revision" in done.output
    assert "Traceback" not in done.output


def test_usage_errors(repo: Repo):
    assert repo.seg("plan", "--offline", "--out", "plan.json").exit_code == 2
    done = repo.seg("plan", "--base", "main")
    assert done.exit_code == 2 and "--base only applies with --offline" in done.output


def test_an_offline_plan_is_never_applied(branch: Repo):
    saved = branch.path / "offline.json"
    saved.write_text(branch.seg("plan", "--offline", "--format", "json").output)
    done = branch.seg("apply", str(saved), "--auto-approve")
    assert done.exit_code == 1
    assert "is an offline plan" in done.output and "cannot be applied" in done.output


def test_a_project_in_a_subfolder_of_the_repository(repo: Repo, tmp_path: Path):
    """seg.toml below the repository's top: the base is read from the same subfolder."""
    outer = tmp_path / "mono"
    outer.mkdir()
    shutil.copytree(repo.path, outer / "marketing", ignore=shutil.ignore_patterns(".git"))
    mono = Repo(outer, NO_DATABASE, scaffold=False)
    (outer / "marketing" / "segments" / "extra.seg").write_text(
        "segment extra {\n  where order_count >= 9\n}\n")
    done = mono.seg("-C", str(outer / "marketing"), "plan", "--offline", project=False)
    assert done.exit_code == 0, done.output
    assert "1 to create, 0 to change, 0 to retire, 6 unchanged" in done.output
