"""seg init: start a segments repository, with CI workflows for GitOps."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import click

from segflow.errors import SegflowError

if TYPE_CHECKING:  # importing main here would be circular: main imports this module
    from segflow.cli.main import Context

DEFAULT_SCHEDULE = "0 15 * * *"
SCHEDULE_TOKEN = "__SEG_SCHEDULE__"
INSTALL_TOKEN = "__SEG_INSTALL__"

# destination in the new repository -> template in segflow/scaffold/ (None: an empty file)
SCAFFOLD: dict[str, str | None] = {
    "seg.toml": "seg.toml",
    "segments/lifecycle.seg": "lifecycle.seg",
    "lists/.gitkeep": None,
    ".gitignore": "gitignore.txt",
    ".pre-commit-config.yaml": "pre-commit-config.yml",
    ".github/workflows/segflow-pr.yml": "segflow-pr.yml",
    ".github/workflows/segflow-apply.yml": "segflow-apply.yml",
    ".github/workflows/segflow-run.yml": "segflow-run.yml",
}

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")


def check_schedule(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise click.BadParameter(
            f"{value!r} is not a cron expression of 5 fields (minute hour day month weekday), "
            f"e.g. {DEFAULT_SCHEDULE!r}"
        )
    return " ".join(fields)


def render(schedule: str = DEFAULT_SCHEDULE, install: str | None = None) -> dict[str, str]:
    """The files of a new repository: relative path -> text. The workflows install `install`
    (default: the segflow running now, see segflow/scaffold/pin.py)."""
    from segflow.scaffold.pin import install_spec

    install = install or install_spec()
    scaffold = files("segflow.scaffold")
    out = {}
    for dest, template in SCAFFOLD.items():
        text = "" if template is None else scaffold.joinpath(template).read_text(encoding="utf-8")
        out[dest] = text.replace(SCHEDULE_TOKEN, schedule).replace(INSTALL_TOKEN, install)
    return out


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--schedule", default=DEFAULT_SCHEDULE, show_default=True,
              callback=lambda _ctx, _param, value: check_schedule(value),
              help="When the daily `seg run` workflow runs: a cron expression, in UTC.")
@click.pass_obj
def init(ctx: Context, directory: Path | None, schedule: str) -> None:
    """Start a segments repository in DIRECTORY (default: -C, else the current folder).

    Writes seg.toml, a starter segments/lifecycle.seg, lists/, .gitignore, a pre-commit config and
    GitHub Actions workflows that validate and preview pull requests, apply on main and run daily.
    Refuses to overwrite any existing file.
    """
    from segflow.scaffold.pin import install_spec

    target = directory or ctx._root or Path.cwd()
    install = install_spec()
    rendered = render(schedule, install)
    existing = sorted(rel for rel in rendered if (target / rel).exists())
    if existing:
        raise SegflowError(
            f"{target}: not overwriting existing files: {', '.join(existing)}",
            hint="move them away, or run `seg init` in an empty folder",
        )
    for rel, text in rendered.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    click.echo(f"Created a segments repository in {target}:")
    for rel in rendered:
        click.echo(f"  {rel}")
    click.echo(
        "\nNext steps:\n"
        "  1. Set the store's time zone in seg.toml, then `seg validate` and `seg fmt --check`.\n"
        "  2. Push the repository to GitHub.\n"
        "  3. Add the repository secret SEG_DATABASE_URL (Settings > Secrets and variables >\n"
        "     Actions): the Postgres database that the workflows apply and run against.\n"
        "     For pull-request previews with member counts, create a read-only role and add\n"
        "     its URL as SEG_READONLY_DATABASE_URL; until then (and for forks) pull requests\n"
        "     get an offline plan of the definition changes.\n"
        f"  4. The daily run is scheduled at '{schedule}' (UTC) in "
        ".github/workflows/segflow-run.yml.\n"
        f"  5. The workflows install {install!r} (SEGFLOW_INSTALL at the top of each);\n"
        "     if that does not install from GitHub Actions, set it to a source that does.\n"
        "  See docs/gitops.md for what each workflow does."
    )


def register(cli: click.Group) -> None:
    cli.add_command(init)
