"""`seg demo` works in any folder: with no segments folder it writes the packaged example
project (into an empty folder, or into ./segflow-demo) and says so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.lifecycle import demo

ROOT = Path(__file__).resolve().parents[2]
SEG = str(Path(sys.executable).parent / "seg")  # the installed command, not this checkout


def test_packaged_example_is_the_repositorys_example():
    from importlib.resources import files

    packaged = files("segflow.scaffold").joinpath("demo")
    names = sorted(p.name for p in packaged.joinpath("segments").iterdir()
                   if p.name.endswith(".seg"))
    assert names == sorted(p.name for p in (ROOT / "segments").glob("*.seg"))
    for name in names:
        assert packaged.joinpath("segments", name).read_text() == \
            (ROOT / "segments" / name).read_text(), name
    assert packaged.joinpath("seg.toml").read_text() == (ROOT / "seg.toml").read_text()


@pytest.fixture
def empty_dir() -> Iterator[Path]:
    """An empty folder the embedded cluster's account can reach (we may be root)."""
    d = Path(tempfile.mkdtemp(prefix="segflow-demo-test-"))
    d.chmod(0o755)
    yield d
    subprocess.run([SEG, "-C", str(d), "db", "stop"], capture_output=True, check=False,
                   timeout=60)
    shutil.rmtree(d, ignore_errors=True)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "SEG_DATABASE_URL"}
    env.update(NO_COLOR="1", COLUMNS="100")
    return env


def test_demo_in_an_empty_folder_with_the_installed_package(empty_dir):
    (empty_dir / ".venv").mkdir()  # a virtualenv made there first does not count as content
    done = subprocess.run([SEG, "demo", "--customers", "100", "--days", "2"], cwd=empty_dir,
                          env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no segments folder" not in done.stderr or "wrote the example project" in done.stderr
    assert f"wrote the example project into {empty_dir}" in done.stderr
    assert (empty_dir / "seg.toml").is_file()
    assert sorted(p.name for p in (empty_dir / "segments").glob("*.seg")) == \
        sorted(p.name for p in (ROOT / "segments").glob("*.seg"))
    assert "Segments on" in done.stdout and "Traceback" not in done.stderr
    # the other commands now find the project and its data
    ls = subprocess.run([SEG, "ls", "--format", "json"], cwd=empty_dir, env=_env(),
                        capture_output=True, text=True, timeout=120, check=False)
    assert ls.returncode == 0, ls.stderr
    assert '"loyals"' in ls.stdout


def _fake_run(state_url):
    return lambda *a, **kw: demo.DemoResult(customers=100, orders=200, segments=3, days=9,
                                            seconds=1.0, url=state_url)


def test_demo_in_a_busy_folder_writes_a_subfolder_and_says_so(tmp_path, monkeypatch, state_url):
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(demo, "run_demo", _fake_run(state_url))
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "demo"])
    assert result.exit_code == 0, result.output
    target = tmp_path / "segflow-demo"
    assert f"wrote the example project into {target}" in result.output
    assert (target / "seg.toml").is_file() and (target / "segments/lifecycle.seg").is_file()
    assert f"`cd {target}`" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "segflow-demo"]
    # a second run uses the example written the first time
    again = CliRunner().invoke(cli, ["-C", str(tmp_path), "demo"])
    assert again.exit_code == 0, again.output
    assert "wrote the example project" not in again.output


def test_demo_in_a_project_keeps_using_its_segments(tmp_path, monkeypatch, state_url):
    shutil.copytree(ROOT / "segments", tmp_path / "segments")
    (tmp_path / "seg.toml").write_text("")
    monkeypatch.setattr(demo, "run_demo", _fake_run(state_url))
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "demo"])
    assert result.exit_code == 0, result.output
    assert "wrote the example project" not in result.output
    assert not (tmp_path / "segflow-demo").exists()
