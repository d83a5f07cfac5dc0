"""The package is publishable and says its version; the workflows `seg init` writes install the
segflow that wrote them (not `pip install segflow`, which no registry serves)."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import PathDistribution, version
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
WORKFLOWS = ("segflow-pr.yml", "segflow-apply.yml", "segflow-run.yml")


def test_version_has_one_source_of_truth():
    import segflow

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"seg, version {PYPROJECT}"
    assert segflow.__version__ == version("segflow") == PYPROJECT
    assert PYPROJECT not in (REPO / "segflow/__init__.py").read_text()  # read, not repeated


def test_init_workflows_install_exactly_this_segflow(tmp_path: Path):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 0, result.output
    for name in WORKFLOWS:
        text = (tmp_path / "repo/.github/workflows" / name).read_text()
        (value,) = re.findall(r"^  SEGFLOW_INSTALL: (.*)$", text, re.MULTILINE)
        # this checkout is installed from a folder (pip install -e .): nowhere else has it, so
        # the pin is the exact version
        assert value == f'"segflow=={PYPROJECT}"', name
        assert 'pip install "$SEGFLOW_INSTALL"' in text
    assert f"segflow=={PYPROJECT}" in result.output


def fake_dist(tmp_path: Path, origin: dict | None) -> PathDistribution:
    info = tmp_path / "segflow-9.8.7.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: segflow\nVersion: 9.8.7\n")
    if origin is not None:
        (info / "direct_url.json").write_text(json.dumps(origin))
    return PathDistribution(info)


COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(("origin", "expected"), [
    (None, "segflow==9.8.7"),  # `pip install segflow==9.8.7` records nothing (PEP 610)
    ({"url": "file:///home/me/segflow", "dir_info": {"editable": True}}, "segflow==9.8.7"),
    ({"url": "file:///tmp/segflow-9.8.7.tar.gz", "archive_info": {}}, "segflow==9.8.7"),
    ({"url": "https://github.com/acme/segflow.git",
      "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "v9.8.7"}},
     f"segflow @ git+https://github.com/acme/segflow.git@{COMMIT}"),
    ({"url": "https://example.com/dist/segflow-9.8.7-py3-none-any.whl",
      "archive_info": {"hashes": {"sha256": "00"}}},
     "segflow @ https://example.com/dist/segflow-9.8.7-py3-none-any.whl"),
    # credentials, other schemes and anything a YAML string would misread: the version instead
    ({"url": "https://${USER}:${TOKEN}@git.example.com/segflow.git",
      "vcs_info": {"vcs": "git", "commit_id": COMMIT}}, "segflow==9.8.7"),
    ({"url": "ssh://git@github.com/acme/segflow.git",
      "vcs_info": {"vcs": "git", "commit_id": COMMIT}}, "segflow==9.8.7"),
    ({"url": 'https://example.com/"x.whl', "archive_info": {}}, "segflow==9.8.7"),
    ({"url": "https://github.com/acme/segflow.git",
      "vcs_info": {"vcs": "git", "commit_id": "main; rm -rf /"}}, "segflow==9.8.7"),
    ({"url": "https://hg.example.com/segflow", "vcs_info": {"vcs": "hg", "commit_id": COMMIT}},
     "segflow==9.8.7"),
])
def test_install_spec_pins_a_source_that_installs_anywhere(tmp_path, origin, expected):
    from segflow.scaffold.pin import install_spec

    assert install_spec(fake_dist(tmp_path, origin)) == expected


def test_docs_never_say_a_bare_pip_install_segflow():
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for line in path.read_text().splitlines():
            assert not re.search(r"pip install\s+[\"']?segflow[\"']?\s*$", line), (path, line)
    gitops = (REPO / "docs/gitops.md").read_text()
    assert f"segflow=={PYPROJECT}" in gitops


def test_release_workflow_builds_checks_and_publishes_with_trusted_publishing():
    text = (REPO / ".github/workflows/release.yml").read_text()
    assert 'tags: ["v*"]' in text
    assert "python -m build" in text and "twine check --strict" in text
    assert "pypa/gh-action-pypi-publish@release/v1" in text
    assert "id-token: write" in text
    assert "secrets." not in text  # no stored token: PyPI trusts the workflow itself
    ci = (REPO / ".ci/run").read_text()
    assert "python -m build" in ci and "twine check --strict" in ci
