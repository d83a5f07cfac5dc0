"""Static list files: inside the project folder only, and their contents checked by `seg validate`
(no database), every bad entry as file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.lifecycle.static_lists import load_list

GOOD = "customer_id,email\n'7001,\n,Dee@Example.com\n\n7002,ignored@example.com\n"


def project(tmp_path: Path, list_path: str, lists: dict[str, str] | None = None) -> Path:
    root = tmp_path / "shop"
    (root / "segments").mkdir(parents=True)
    (root / "seg.toml").write_text('[store]\ntimezone = "UTC"\n')
    (root / "segments" / "w.seg").write_text(
        f'segment wholesale {{\n  title = "Wholesale"\n  list = "{list_path}"\n}}\n')
    for name, text in (lists or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def validate(root: Path):
    return CliRunner().invoke(cli, ["-C", str(root), "validate"], env={"SEG_DATABASE_URL": ""})


def test_a_good_list_validates(tmp_path):
    result = validate(project(tmp_path, "lists/w.csv", {"lists/w.csv": GOOD}))
    assert result.exit_code == 0, result.output
    from segflow.compiler.lists import read_list_file

    contents = read_list_file(tmp_path / "shop" / "lists" / "w.csv", "lists/w.csv")
    assert (contents.ids, contents.emails, contents.problems) == (
        [7001, 7002], ["dee@example.com"], [])


@pytest.mark.parametrize("path, message", [
    ("/etc/passwd", "list file '/etc/passwd' must be a path relative to the project folder "
                    "(where seg.toml is)"),
    ("../outside.csv", "list file '../outside.csv' is outside the project folder: a list must "
                       "be a file inside it (symlinks and '..' may not lead out)"),
    ("lists/link.csv", "list file 'lists/link.csv' is outside the project folder: a list must "
                       "be a file inside it (symlinks and '..' may not lead out)"),
    ("lists/../../outside.csv", "list file 'lists/../../outside.csv' is outside the project "
                                "folder: a list must be a file inside it (symlinks and '..' "
                                "may not lead out)"),
])
def test_a_list_outside_the_project_is_refused_without_echoing_it(tmp_path, path, message):
    (tmp_path / "outside.csv").write_text("customer_id\nSECRET-CONTENTS\n")
    root = project(tmp_path, path)
    (root / "lists").mkdir()
    (root / "lists" / "link.csv").symlink_to(tmp_path / "outside.csv")
    result = validate(root)
    assert result.exit_code == 1
    assert f"segments/w.seg:3:10: {message}" in result.output
    assert "SECRET" not in result.output and "root:" not in result.output


def test_a_symlink_inside_the_project_is_fine(tmp_path):
    root = project(tmp_path, "lists/link.csv", {"data/w.csv": GOOD})
    (root / "lists").mkdir()
    (root / "lists" / "link.csv").symlink_to(root / "data" / "w.csv")
    assert validate(root).exit_code == 0


def test_validate_reports_every_bad_entry_with_its_line(tmp_path):
    text = ('customer_id,email,note\n7001,,\nabc,,\n,not-an-email,\n,ok@example.com,"two\nlines"\n'
            "1_000,,\n99999999999999999999,,\n")
    result = validate(project(tmp_path, "lists/w.csv", {"lists/w.csv": text}))
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith("lists/")] == [
        "lists/w.csv:3:1: customer id 'abc' is not a whole number (a Shopify customer id)",
        "lists/w.csv:4:1: 'not-an-email' is not an email address",
        "lists/w.csv:7:1: customer id '1_000' is not a whole number (a Shopify customer id)",
        "lists/w.csv:8:1: customer id '99999999999999999999' is not a whole number (a Shopify "
        "customer id)",
    ]


def test_a_list_without_an_id_or_email_column_does_not_echo_its_header(tmp_path):
    result = validate(project(tmp_path, "lists/w.csv", {"lists/w.csv": "name,secret\na,b\n"}))
    assert result.exit_code == 1
    assert ("lists/w.csv:1:1: a list file needs a header row naming a 'customer_id' or 'email' "
            "column") in result.output
    assert "secret" not in result.output


def test_apply_refuses_a_list_outside_the_project(tmp_path):
    """The loader checks too (a plan file names the list path): nothing is read, nothing
    echoed, before any database work."""
    root = tmp_path / "shop"
    root.mkdir()
    with pytest.raises(SegflowError) as err:
        load_list(None, "wholesale", root / "/etc/passwd", root=root)  # type: ignore[arg-type]
    assert err.value.render() == ("segment wholesale: list file '/etc/passwd' must be a path "
                                  "relative to the project folder (where seg.toml is)")
