"""seg init: the repository it writes works, and its workflows pass actionlint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.init import DEFAULT_SCHEDULE, SCAFFOLD
from segflow.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = (
    ".github/workflows/segflow-pr.yml",
    ".github/workflows/segflow-apply.yml",
    ".github/workflows/segflow-run.yml",
)


def seg(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "shop-segments"  # does not exist yet: init creates it
    result = seg("init", str(target))
    assert result.exit_code == 0, result.output
    return target


def actionlint() -> str:
    """The actionlint binary: on PATH or beside this Python (the test extras install it)."""
    found = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent)
    )
    if not found:
        pytest.fail("actionlint is missing: install the test extras (pip install -e '.[test]')")
    return found


def test_init_creates_every_file(repo: Path):
    for rel in SCAFFOLD:
        assert (repo / rel).is_file(), rel
    assert "SEG_DATABASE_URL" in (repo / "seg.toml").read_text()
    gitignore = (repo / ".gitignore").read_text().split()
    assert {".segflow/", ".venv/", "plan.json"} <= set(gitignore)
    hooks = (repo / ".pre-commit-config.yaml").read_text()
    assert "seg fmt --check" in hooks and "seg validate" in hooks


def test_result_validates_and_is_formatted(repo: Path):
    result = seg("-C", str(repo), "validate")
    assert result.exit_code == 0, result.output
    result = seg("-C", str(repo), "fmt", "--check")
    assert result.exit_code == 0, result.output


def test_init_in_current_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = seg("init")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "seg.toml").is_file()


def test_refuses_to_overwrite(tmp_path: Path):
    (tmp_path / "seg.toml").write_text("# mine\n")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "seg.toml" in result.output
    assert (tmp_path / "seg.toml").read_text() == "# mine\n"
    assert not (tmp_path / "segments").exists()  # nothing written half-way


def test_schedule(tmp_path: Path, repo: Path):
    assert f'cron: "{DEFAULT_SCHEDULE}"' in (repo / WORKFLOWS[2]).read_text()
    other = tmp_path / "other"
    result = seg("init", str(other), "--schedule", "30 6 * * 1-5")
    assert result.exit_code == 0, result.output
    assert 'cron: "30 6 * * 1-5"' in (other / WORKFLOWS[2]).read_text()


def test_bad_schedule_is_refused(tmp_path: Path):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "x"), "--schedule", "daily"])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_pr_workflow_updates_one_comment(repo: Path):
    text = (repo / WORKFLOWS[0]).read_text()
    assert "<!-- segflow-plan -->" in text
    assert "actions/github-script" in text
    assert "updateComment" in text and "createComment" in text
    assert "seg validate --format github" in text
    assert "seg plan --format markdown > plan.md" in text
    assert "if: env.SEG_DATABASE_URL != ''" in text
    assert "pull-requests: write" in text
    assert 'cat plan.md >> "$GITHUB_STEP_SUMMARY"' in text


def test_pr_workflow_previews_with_the_read_only_role_else_offline(repo: Path):
    text = (repo / WORKFLOWS[0]).read_text()
    assert "SEG_DATABASE_URL: ${{ secrets.SEG_READONLY_DATABASE_URL }}" in text
    assert "secrets.SEG_DATABASE_URL" not in text  # the writing role never reaches a PR job
    offline = text[text.index("- name: Plan offline"):text.index("- name: Job summary")]
    assert "if: env.SEG_DATABASE_URL == ''" in offline
    assert 'seg plan --offline --base "origin/${BASE_REF}" --format markdown > plan.md' in offline
    assert "BASE_REF: ${{ github.base_ref }}" in offline
    # forks get a read-only token: no comment, the job summary only
    comment = text[text.index("- name: Comment the plan"):]
    assert "if: github.event.pull_request.head.repo.full_name == github.repository" in comment


def test_marker_matches_the_markdown_plan():
    from segflow.cli.render_plan import MARKER

    assert MARKER == "<!-- segflow-plan -->"


def test_state_workflows_share_one_queue(repo: Path):
    for rel in WORKFLOWS[1:]:
        text = (repo / rel).read_text()
        assert "group: segflow-state" in text
        assert "cancel-in-progress: false" in text
    assert "seg apply --auto-approve" in (repo / WORKFLOWS[1]).read_text()
    assert "seg run" in (repo / WORKFLOWS[2]).read_text()


def test_workflows_pass_actionlint(repo: Path):
    paths = [str(repo / rel) for rel in WORKFLOWS]
    paths += [str(REPO / ".github" / "workflows" / name) for name in ("ci.yml", "release.yml")]
    done = subprocess.run(
        [actionlint(), "-no-color", *paths], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
