"""`seg validate PATHS`: each file is read once, however the paths are written."""

from __future__ import annotations

import pytest

from tests.cli.test_lang_cli import invoke, project

BROKEN = "segment broken {\n  where order_cnt >= 1\n}\n"


@pytest.fixture
def example(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("paths", [
    ["segments"],
    ["segments/"],
    ["./segments"],
    ["segments/lifecycle.seg"],
    ["segments/lifecycle.seg", "segments/campaigns.seg"],
    ["segments", "segments/lifecycle.seg"],          # overlapping: a folder and a file in it
    ["segments/lifecycle.seg", "./segments/lifecycle.seg", "segments/../segments/lifecycle.seg"],
    ["ABS/segments"],
    ["ABS/segments/lifecycle.seg", "segments"],      # absolute and relative for the same files
])
def test_validate_with_paths_reads_each_file_once(example, paths):
    args = [p.replace("ABS", str(example)) for p in paths]
    result = invoke(example, "validate", *args)
    assert result.exit_code == 0, result.output
    assert "duplicate" not in result.output and result.output.startswith("ok: ")


def test_validate_with_paths_counts_the_files_asked_for(example):
    result = invoke(example, "validate", "segments/lifecycle.seg", str(example / "segments"))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("in 3 files")


@pytest.mark.parametrize("form", ["relative", "absolute", "folder"])
def test_validate_with_paths_reports_problems_of_those_files_once(example, form):
    (example / "segments/broken.seg").write_text(BROKEN)
    path = {"relative": "segments/broken.seg", "absolute": str(example / "segments/broken.seg"),
            "folder": "segments"}[form]
    result = invoke(example, "validate", path)
    assert result.exit_code == 1
    assert result.output.count("unknown field 'order_cnt'") == 1
    assert "segments/broken.seg:2:9:" in result.output
    assert "1 error in 1 file" in result.output


def test_validate_with_a_path_shows_only_that_files_problems(example):
    (example / "segments/broken.seg").write_text(BROKEN)
    result = invoke(example, "validate", "segments/lifecycle.seg")
    assert result.exit_code == 0, result.output


def test_fmt_with_overlapping_paths_names_each_file_once(example):
    (example / "segments/ugly.seg").write_text("segment ugly{where order_count>=1}\n")
    result = invoke(example, "fmt", "--check", "segments", str(example / "segments/ugly.seg"))
    assert result.exit_code == 1
    assert result.output.count("would reformat segments/ugly.seg") == 1
