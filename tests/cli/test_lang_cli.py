"""seg validate / fmt / compile as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from segflow.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]

THREE_MISTAKES = """\
group lifecycle {
  title = "Lifecycle"
}

segment a {
  groups = [lifecycel]
  where order_cnt >= 5
}

segment b {
  where total_spent >= "lots"
}
"""


def project(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "UTC"\n')
    seg = tmp_path / "segments"
    if files is None:
        shutil.copytree(ROOT / "segments", seg)
    else:
        seg.mkdir()
        for name, text in files.items():
            (seg / name).write_text(text)
    return tmp_path


def invoke(root: Path, *args: str):
    return CliRunner().invoke(cli, ["-C", str(root), *args])


def test_validate_passes_on_the_example_segments(tmp_path):
    result = invoke(project(tmp_path), "validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_three_mistakes_give_three_precise_errors_with_carets(tmp_path):
    result = invoke(project(tmp_path, {"x.seg": THREE_MISTAKES}), "validate")
    assert result.exit_code == 1
    out = result.output
    assert "segments/x.seg:6:13: unknown group 'lifecycel' — did you mean 'lifecycle'?" in out
    assert "segments/x.seg:7:9: unknown field 'order_cnt' — did you mean 'order_count'?" in out
    assert ("segments/x.seg:11:24: type mismatch: 'total_spent' is a number, but \"lots\" is a "
            "text") in out
    assert "      where order_cnt >= 5\n            ^^^^^^^^^" in out
    assert "3 errors in 1 file" in out
    assert "Traceback" not in out


def test_errors_in_every_file_are_reported(tmp_path):
    files = {"a.seg": "segment a { where nope = 1 }\n", "b.seg": "segment b { where x = = }\n"}
    result = invoke(project(tmp_path, files), "validate")
    assert result.exit_code == 1
    assert "segments/a.seg:1:19" in result.output and "segments/b.seg:1:23" in result.output


def test_validate_github_and_json_formats(tmp_path):
    root = project(tmp_path, {"x.seg": THREE_MISTAKES})
    gh = invoke(root, "validate", "--format", "github")
    assert gh.exit_code == 1
    assert gh.output.splitlines()[0].startswith("::error file=segments/x.seg,line=6,col=13")
    data = json.loads(invoke(root, "validate", "--format", "json").output)
    assert [e["line"] for e in data["errors"]] == [6, 7, 11] and data["ok"] is False


def test_fmt_check_and_rewrite(tmp_path):
    root = project(tmp_path, {"x.seg": "segment a{where order_count>=5}\n"})
    check = invoke(root, "fmt", "--check")
    assert check.exit_code == 1 and "would reformat segments/x.seg" in check.output
    assert invoke(root, "fmt").exit_code == 0
    assert (root / "segments/x.seg").read_text() == "segment a {\n  where order_count >= 5\n}\n"
    assert invoke(root, "fmt", "--check").exit_code == 0


def test_example_segments_are_formatted(tmp_path):
    assert invoke(project(tmp_path), "fmt", "--check").exit_code == 0


def test_compile_prints_sql(tmp_path):
    result = invoke(project(tmp_path), "compile", "starter_then_beans", "--as-of", "2025-03-15")
    assert result.exit_code == 0, result.output
    assert "'Coffee Starter Kit'" in result.output and result.output.rstrip().endswith(";")


def test_compile_unknown_segment_suggests(tmp_path):
    result = invoke(project(tmp_path), "compile", "loyal")
    assert result.exit_code == 1
    assert "unknown segment 'loyal' — did you mean 'loyals'?" in result.output


def test_bad_usage_exits_2(tmp_path):
    root = project(tmp_path)
    assert invoke(root, "compile").exit_code == 2
    assert invoke(root, "compile", "loyals", "--as-of", "yesterday").exit_code == 2


def test_bad_config_is_one_clear_error(tmp_path):
    root = project(tmp_path)
    (root / "seg.toml").write_text('[store]\ntimezone = "Mars/Olympus"\n')
    result = invoke(root, "validate")
    assert result.exit_code == 1
    assert "unknown time zone 'Mars/Olympus'" in result.output
    assert "Traceback" not in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "seg, version" in result.output


OUT_OF_RANGE = """\
segment far {
  where first_order_date <= today + 9000y
}

segment uses_far {
  where segment far and order_count >= 1
}

segment fine {
  where order_count >= 1
}
"""


def test_validate_compiles_every_segment_and_locates_compile_errors(tmp_path):
    root = project(tmp_path, {"x.seg": OUT_OF_RANGE})
    result = invoke(root, "validate")
    assert result.exit_code == 1
    # reported once, where the date is, not again in the segment that refers to it
    assert "segments/x.seg:2:29: date out of range (years 1 to 9999)" in result.output
    assert "1 error in 1 file" in result.output
    compiled = invoke(root, "compile", "uses_far")
    assert compiled.exit_code == 1 and "segments/x.seg:2:29: date out of range" in compiled.output


def test_language_commands_start_without_the_runtime(tmp_path):
    """`seg validate` imports neither psycopg nor any engine or lifecycle module (start-up time)."""
    code = ("import sys\nfrom segflow.cli.main import main\n"
            f"sys.argv = ['seg', '-C', {str(project(tmp_path))!r}, 'validate']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('psycopg', 'segflow.engines', 'segflow.lifecycle', 'segflow.sources', 'segflow.destinations'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]", out.stdout + out.stderr
