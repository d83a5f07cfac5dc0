"""README's command table lists every `seg` command, each in one row; docs link only inside the
repository."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from segflow.cli.main import cli

REPO = Path(__file__).resolve().parents[2]


def table_rows() -> list[str]:
    text = (REPO / "README.md").read_text()
    table = text[text.index("## Commands"):text.index("## Documentation")]
    return [line.split("|")[1] for line in table.splitlines() if line.startswith("| `seg")]


def commands() -> list[str]:
    # the names `seg --help` lists (registering every module's commands first)
    help_text = CliRunner().invoke(cli, ["--help"]).output
    listing = help_text[help_text.index("Commands:"):]
    return re.findall(r"^  (\w[\w-]*)\s", listing, re.MULTILINE)


def test_every_command_is_in_the_readme_table_once():
    rows = table_rows()
    names = commands()
    assert "init" in names and "group" in names
    for name in names:
        holding = [row for row in rows if re.search(rf"`seg {name}\b", row)]
        assert holding, f"seg {name} is missing from README's command table"
    # a row's command: its words before any argument or option (`ingest shopify-csv`, `run`)
    firsts = [re.match(r" `seg ([\w-]+(?: [a-z][\w-]*)*)", row)[1] for row in rows]
    twice = {n for n in firsts if firsts.count(n) > 1}
    assert not twice, f"listed twice in README: {twice}"


def test_docs_link_only_inside_the_repository():
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)", text) + re.findall(r"\.\./[\w./-]+", text):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(REPO), (path.name, target)
            assert resolved.exists(), (path.name, target)
