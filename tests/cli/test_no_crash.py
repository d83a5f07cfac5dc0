"""Inputs that crashed `seg validate` (issue 15.13) end in positioned diagnostics and exit 1."""

from __future__ import annotations

import pytest

from tests.cli.test_lang_cli import invoke, project


def _nested_not(n: int) -> str:
    return "segment deep {\n  where " + "not " * n + "order_count > 1\n}\n"


def _nested_alternation(n: int) -> str:
    rule = "order_count > 1"
    for i in range(n):
        rule = f"total_spent > {i} {'and' if i % 2 else 'or'} ({rule})"
    return "segment deep {\n  where " + rule + "\n}\n"


def _chain(n: int) -> str:
    head = "segment c0 {\n  where order_count > 1\n}\n"
    return head + "".join(f"segment c{i} {{\n  where not (segment c{i - 1} and total_spent > {i})\n}}\n"
                          for i in range(1, n))


CASES = {
    "nested_not_500": _nested_not(500),  # crashed writing the parse cache
    "nested_not_1000": _nested_not(1000),  # crashed the checker
    "nested_and_or_300": _nested_alternation(300),
    "nested_order_filter": "segment deep {\n  where orders[" + "not " * 200 + "total > 1].count > 1\n}\n",
    "nested_date_offset": "segment deep {\n  where last_order_date >= today" + " - 1d" * 300 + "\n}\n",
    "reference_chain_200": _chain(200),
    "nul_in_title": 'segment nul {\n  title = "a\x00b"\n  where order_count > 1\n}\n',
    "escape_in_value": 'segment esc {\n  where email = "a\x1b[31m"\n}\n',
    "nul_in_long_description": 'segment d {\n  description = """one\ntwo\x00"""\n  where order_count > 1\n}\n',
    "carriage_return_in_short_string": 'segment cr {\n  tag = "vip\r"\n  where order_count > 1\n}\n',
    "huge_number": "segment big {\n  where total_spent > " + "9" * 5000 + "\n}\n",
    "huge_duration": "segment big {\n  where last_order_date >= today - " + "9" * 5000 + "d\n}\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_gives_diagnostics_not_a_traceback(tmp_path, monkeypatch, snapshot, name):
    monkeypatch.delenv("CI", raising=False)  # with the parse cache on, as users run it
    monkeypatch.delenv("SEG_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "p").mkdir()
    root = project(tmp_path / "p", {"x.seg": CASES[name]})
    result = invoke(root, "validate")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.output.splitlines()
    assert lines[-1].endswith("in 1 file")
    assert [line[:200] for line in lines] == snapshot


@pytest.mark.parametrize("command", [["compile", "nul"], ["fmt", "--check"]])
def test_other_commands_refuse_control_characters_too(tmp_path, command):
    root = project(tmp_path, {"x.seg": CASES["nul_in_title"]})
    result = invoke(root, *command)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "segments/x.seg:2:13: NUL (U+0000) in a string" in result.output


def test_tabs_and_line_breaks_where_they_belong_are_fine(tmp_path):
    text = ('segment ok {\n  title = "a\tb"\n  description = """line one\r\nline two\n"""\n'
            '  where email = "x\\ty"\n}\n')
    result = invoke(project(tmp_path, {"x.seg": text}), "validate")
    assert result.exit_code == 0, result.output


def test_the_deepest_rule_allowed_validates_and_compiles(tmp_path):
    # 100 levels: the documented bound (a comparison and its value are the last two)
    root = project(tmp_path, {"x.seg": _nested_alternation(98) + _chain(25)})
    result = invoke(root, "validate")
    assert result.exit_code == 0, result.output
    for segment in ("deep", "c24"):
        assert invoke(root, "compile", segment, "--as-of", "2025-01-01").exit_code == 0
