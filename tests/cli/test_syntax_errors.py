"""A syntax error hides nothing (issue 15.20), and the common mistakes get messages that say
what is wrong."""

from __future__ import annotations

import pytest

from tests.cli.test_lang_cli import invoke, project

PROJECT = {
    # a syntax error, and a checker error in another declaration of the same file
    "a.seg": "segment fine {\n  where order_count >= 1\n}\n\n"
             "segment typo {\n  where order_cnt >= 5\n}\n\n"
             "segment broken {\n  where total_spent > = 3\n}\n\n"
             "segment also_broken {\n  where email = 'x'\n}\n",
    # a compile error, and references to segments of the broken file
    "b.seg": "segment far {\n  where first_order_date <= today + 9000y\n}\n\n"
             "segment uses_broken {\n  where segment broken and segment fine\n}\n\n"
             "segment unknown_ref {\n  where segment nope\n}\n",
}


def test_a_syntax_error_hides_no_other_error(tmp_path, snapshot):
    result = invoke(project(tmp_path, PROJECT), "validate")
    assert result.exit_code == 1
    assert result.output.splitlines() == snapshot


def test_every_error_in_json_too(tmp_path):
    import json

    result = invoke(project(tmp_path, PROJECT), "validate", "--format", "json")
    found = [(e["file"], e["line"], e["code"]) for e in json.loads(result.output)["errors"]]
    assert found == [
        ("segments/a.seg", 6, "unknown-field"),
        ("segments/a.seg", 10, "syntax"),
        ("segments/a.seg", 14, "syntax"),
        ("segments/b.seg", 2, "compile"),
        ("segments/b.seg", 10, "unknown-segment"),
    ]


MISTAKES = {
    "upper_case_and": "order_count > 1 AND total_spent > 3",
    "upper_case_not": "NOT order_count > 1",
    "upper_case_where": None,
    "ends_with": 'email ends with "@example.com"',
    "matches": 'email matches ".*@gmail.com"',
    "like": 'email like "%gmail%"',
    "single_quotes": "email = 'a@b.c'",
    "double_equals": "order_count == 1",
    "ampersands": "order_count > 1 && total_spent > 3",
    "unterminated_string": 'email = "a@b.c',
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_common_mistakes_say_what_is_wrong(tmp_path, snapshot, name):
    rule = MISTAKES[name]
    text = (f"segment s {{\n  where {rule}\n}}\n" if rule else
            "segment s {\n  WHERE order_count > 1\n}\n")
    result = invoke(project(tmp_path, {"x.seg": text}), "validate")
    assert result.exit_code == 1
    assert "expected '='" not in result.output
    assert result.output.splitlines() == snapshot


def test_upper_case_declaration_keyword(tmp_path):
    text = "segment a {\n  where order_count > 1\n}\n\nSEGMENT b {\n  where order_count > 2\n}\n"
    result = invoke(project(tmp_path, {"x.seg": text}), "validate")
    assert "segments/x.seg:5:1: keywords are lower case: write 'segment', not 'SEGMENT'" in \
        result.output
    assert "1 error in 1 file" in result.output


def test_several_syntax_errors_in_one_file_each_reported(tmp_path):
    text = "".join(f"segment s{i} {{\n  where order_count > > {i}\n}}\n" for i in range(3))
    result = invoke(project(tmp_path, {"x.seg": text}), "validate")
    assert [line.split(": ")[0] for line in result.output.splitlines() if ": " in line] == [
        "segments/x.seg:2:23", "segments/x.seg:5:23", "segments/x.seg:8:23"]
