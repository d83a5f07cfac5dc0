"""Edges of the language commands: a byte-order mark, `fmt --diff`, an unknown dialect."""

from __future__ import annotations

from tests.cli.test_lang_cli import invoke, project

BOM = "\ufeff"
RULE = "segment bom {\n  where order_count >= 1\n}\n"


def test_a_byte_order_mark_at_the_start_of_a_file_is_accepted(tmp_path):
    root = project(tmp_path, {"x.seg": BOM + RULE})
    result = invoke(root, "validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 1 segment, 0 groups in 1 file")


def test_positions_on_the_first_line_ignore_the_byte_order_mark(tmp_path):
    root = project(tmp_path, {"x.seg": BOM + "segment bom { where order_cnt >= 1 }\n"})
    result = invoke(root, "validate")
    assert result.exit_code == 1
    assert "segments/x.seg:1:21: unknown field 'order_cnt'" in result.output
    assert "\n    segment bom { where order_cnt >= 1 }\n" in result.output


def test_fmt_drops_the_byte_order_mark(tmp_path):
    root = project(tmp_path, {"x.seg": BOM + RULE})
    check = invoke(root, "fmt", "--check")
    assert check.exit_code == 1 and "would reformat segments/x.seg" in check.output
    assert invoke(root, "fmt").exit_code == 0
    assert (root / "segments/x.seg").read_bytes() == RULE.encode()


def test_compile_with_a_byte_order_mark(tmp_path):
    root = project(tmp_path, {"x.seg": BOM + RULE})
    assert invoke(root, "compile", "bom").exit_code == 0


UGLY = "segment a{where order_count>=5}\n"


def test_fmt_diff_prints_a_unified_diff_and_writes_nothing(tmp_path, snapshot):
    root = project(tmp_path, {"x.seg": UGLY})
    result = invoke(root, "fmt", "--diff")
    assert result.exit_code == 0, result.output
    assert (root / "segments/x.seg").read_text() == UGLY
    assert result.output == snapshot


def test_fmt_diff_with_check_exits_1_when_something_would_change(tmp_path):
    root = project(tmp_path, {"x.seg": UGLY, "y.seg": "segment b {\n  where order_count >= 1\n}\n"})
    result = invoke(root, "fmt", "--diff", "--check")
    assert result.exit_code == 1
    assert "+++ b/segments/x.seg" in result.output and "y.seg" not in result.output
    assert (root / "segments/x.seg").read_text() == UGLY


def test_fmt_diff_on_formatted_files_prints_no_diff(tmp_path):
    root = project(tmp_path, {"y.seg": "segment b {\n  where order_count >= 1\n}\n"})
    result = invoke(root, "fmt", "--diff", "--check")
    assert result.exit_code == 0 and "---" not in result.output
    assert "1 file already formatted" in result.output


def test_compile_with_an_unknown_dialect_lists_the_dialects(tmp_path):
    result = invoke(project(tmp_path), "compile", "loyals", "--dialect", "postgress")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # a usage error, not a crash
    assert "unknown SQL dialect 'postgress' — did you mean 'postgres'?" in result.output
    assert "duckdb" in result.output and "postgres" in result.output


def test_compile_with_another_dialect(tmp_path):
    result = invoke(project(tmp_path), "compile", "loyals", "--dialect", "duckdb")
    assert result.exit_code == 0, result.output
