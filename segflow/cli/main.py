"""The `seg` command. Thin: parses options, calls the layers, prints.

Exit codes (documented in README): 0 fine, 1 a problem the user can fix (bad rule, bad file,
bad config, unreachable database), 2 bad usage. A traceback means a bug in segflow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from segflow import __version__
from segflow.config import Config, find_root, load_config
from segflow.errors import SegflowError

if TYPE_CHECKING:
    import psycopg

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

    @contextmanager
    def database(self, *, writes: bool = False) -> Iterator[psycopg.Connection]:
        """The project's database (committed and closed on leaving the block).

        A role that may not do what the command needs (the read-only role of the plan preview
        running `seg apply`, or a grant missing) gets one clear message, never a traceback; the
        transaction that failed has been rolled back, so nothing was written.
        """
        import psycopg

        from segflow.engines.postgres.db import open_database

        try:
            with open_database(self.config) as conn:
                yield conn
        except (psycopg.errors.ReadOnlySqlTransaction,
                psycopg.errors.InsufficientPrivilege) as exc:
            raise SegflowError(_permission_problem(exc, writes)) from None


def _permission_problem(exc: Exception, writes: bool) -> str:
    import psycopg

    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    command = click.get_current_context(silent=True)
    name = f"seg {command.info_name}" if command and command.info_name else "this command"
    if writes:
        return (f"the database role cannot write ({reason}): `{name}` needs a role that can "
                "write to the segflow schema; a read-only role is for `seg plan` previews only "
                "(see docs/gitops.md, read-only role). Nothing was written.")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return (f"the database role is read-only ({reason}) and the database schema needs "
                "creating or upgrading first: run `seg apply` once with a role that can write "
                "(see docs/gitops.md)")
    return (f"the database role lacks a privilege ({reason}): grant it as docs/gitops.md shows "
            "(read-only role)")


pass_ctx = click.make_pass_decorator(Context)


class SegGroup(click.Group):
    """Turns a SegflowError into one clear message and exit code 1.

    Commands are registered on first use: `seg validate` / `fmt` / `compile` import only their
    own module (not psycopg and the runtime), which keeps start-up short for CI and editors.
    """

    def get_command(self, ctx: click.Context, cmd_name: str):
        _register(only=cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context):
        _register()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SegflowError as exc:
            from segflow.connectors.shopify.redact import redact

            click.echo(redact(exc.render()), err=True)  # never a token, whatever the message
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


# Modules with a `register(cli)` adding their commands (each imports what it needs lazily).
# `seg validate / fmt / compile` load only the language module (no database driver imported).
LANG_MODULE = "lang"
COMMAND_MODULES = ("db", "state_cmds", "read_cmds", "demo", "group_cmds", "ingest",
                   "templates", "generate", "init", "serve", "analytics_cmds", "backfill", "tags")
_LANG_COMMANDS = {"validate", "fmt", "compile"}
_registered: set[str] = set()


def _register(only: str | None = None) -> None:
    """Add the commands to `cli`: those of the language only when `only` is one of them."""
    import importlib

    if "all" in _registered or (only in _LANG_COMMANDS and LANG_MODULE in _registered):
        return
    if LANG_MODULE not in _registered:
        importlib.import_module(f"segflow.cli.{LANG_MODULE}").register(cli)
        _registered.add(LANG_MODULE)
    if only in _LANG_COMMANDS:
        return
    _registered.add("all")
    for name in COMMAND_MODULES:
        importlib.import_module(f"segflow.cli.{name}").register(cli)


def main() -> None:
    try:
        cli.main(prog_name="seg", standalone_mode=True)
    except SegflowError as exc:  # errors raised while parsing options
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_ERROR)
