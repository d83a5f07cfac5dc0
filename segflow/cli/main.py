"""The `seg` command. Thin: parses options, calls the layers, prints.

Exit codes (documented in README): 0 fine, 1 a problem the user can fix (bad rule, bad file,
bad config, unreachable database), 2 bad usage. A traceback means a bug in segflow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segflow import __version__
from segflow.config import Config, find_root, load_config
from segflow.errors import SegflowError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class Context:
    """What every command may need: the project root and its config (loaded lazily)."""

    def __init__(self, project_dir: Path | None):
        self._root = project_dir
        self._config: Config | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = find_root(Path.cwd())
        return self._root

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.root)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


class SegGroup(click.Group):
    """Turns a SegflowError into one clear message and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SegflowError as exc:
            click.echo(exc.render(), err=True)
            n = len(exc.diagnostics)
            if n > 1:
                click.echo(f"{n} errors", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=SegGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="seg")
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The segments repository (default: the nearest folder with seg.toml, else the "
    "current one).",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None) -> None:
    """segflow: customer segments as code.

    Segments live in *.seg files under segments/; validate them, format them, compile them to
    SQL, preview and apply changes, and run them daily.
    """
    ctx.obj = Context(project_dir)


def _register() -> None:
    from segflow.cli import db, ingest, lang

    lang.register(cli)
    db.register(cli)

    from segflow.cli import read_cmds, state_cmds

    state_cmds.register(cli)
    read_cmds.register(cli)

    from segflow.cli import demo, group_cmds

    demo.register(cli)
    group_cmds.register(cli)
    ingest.register(cli)

    from segflow.cli import templates

    templates.register(cli)

    from segflow.cli import generate

    generate.register(cli)

    from segflow.cli import init

    init.register(cli)

    from segflow.cli import tags

    tags.register(cli)


_register()


def main() -> None:
    try:
        cli.main(prog_name="seg", standalone_mode=True)
    except SegflowError as exc:  # errors raised while parsing options
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_ERROR)
