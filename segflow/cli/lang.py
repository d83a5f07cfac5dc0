"""Commands over segment files: validate, fmt, compile."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

import click

from segflow.cli.diagnostics import as_github, as_json, as_text
from segflow.cli.main import EXIT_ERROR, Context, pass_ctx
from segflow.cli.output import plural
from segflow.compiler.evaluation import Evaluation, zone
from segflow.compiler.project import (
    Project,
    check_project,
    discover,
    display_path,
    gc_paused,
    load_project,
    parse_files,
)
from segflow.dsl import ast
from segflow.errors import Diagnostic, SegflowError

PATHS = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


def today_in(timezone: str) -> dt.date:
    return dt.datetime.now(zone(timezone)).date()


def load(ctx: Context) -> Project:
    """The project's segments, parsed and checked (raises with every problem)."""
    folder = ctx.config.segments_dir
    if not folder.is_dir():
        raise SegflowError(f"no segments folder at {folder} (set [project] segments in seg.toml, "
                           "or run `seg init`)")
    return load_project([folder], ctx.root)


def _same_files(files: list[Path], subset: list[Path]) -> list[Path]:
    """The entries of `files` that are the files of `subset` (however each was named)."""
    wanted = {p.resolve() for p in subset}
    return [p for p in files if p.resolve() in wanted]


@click.command()
@PATHS
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="How to print problems.")
@click.option("--store", is_flag=True,
              help="Also look up the rules' text values in the store's data (needs the "
                   "database): a value that never occurs is a warning, with did-you-mean.")
@pass_ctx
def validate(ctx: Context, paths: tuple[Path, ...], fmt: str, store: bool) -> None:
    """Check segment files: syntax, names, types, references, groups; compile every segment.

    Every segment is compiled over shared facts as the daily run does (as of today in the
    store's time zone), so a rule that cannot be compiled fails here, not in the run.
    With PATHS, only problems in those files are reported, but they are checked against the
    whole project (so references to segments in other files resolve). Warnings (--store)
    do not fail the command.
    """
    from segflow.compiler.query import compile_checked

    folder = ctx.config.segments_dir
    # the project's folder first, so a file inside it is named as the project names it
    files = discover([*([folder] if folder.is_dir() else []), *paths])
    wanted = _same_files(files, discover(paths)) if paths else files
    tz = ctx.config.store.timezone
    with gc_paused(freeze=True):  # one batch: parse, check, compile
        sources, diagnostics = parse_files(files, ctx.root)
        # every problem: the segments free of them are compiled whatever is broken elsewhere
        project, problems = check_project(sources, ctx.root, diagnostics)
        _compiled, compile_problems = compile_checked(project, Evaluation(today_in(tz), tz))
    if store:
        problems = [*problems, *store_warnings(ctx, project)]
    problems = sorted([*problems, *compile_problems],
                      key=lambda d: (d.file or "", d.line or 0, d.col or 0))
    shown = {display_path(p, ctx.root) for p in wanted}
    if paths:
        problems = [d for d in problems if d.file in shown or d.file is None]
    errors = [d for d in problems if d.severity != "warning"]
    _report(problems, errors, fmt, len(wanted), f"ok: {_summary(sources, shown)}")
    if errors:
        raise SystemExit(EXIT_ERROR)


def store_warnings(ctx: Context, project: Project) -> list[Diagnostic]:
    """Warnings on the rules' text values that never occur in the store (see value_check)."""
    from segflow.lifecycle.value_check import value_warnings

    with ctx.database() as conn:
        return value_warnings(conn, project)


def _report(problems: list[Diagnostic], errors: list[Diagnostic], fmt: str, nfiles: int,
            ok_line: str) -> None:
    warnings = len(problems) - len(errors)
    if fmt == "json":
        click.echo(as_json(problems, files=nfiles, ok=not errors))
        return
    if fmt == "github":
        if problems:
            click.echo(as_github(problems))
        return
    if problems:
        click.echo(as_text(problems), err=True)
    also = f" ({plural(warnings, 'warning')})" if warnings else ""
    if errors:
        nfiles = len({d.file for d in errors})
        click.echo(f"{plural(len(errors), 'error')} in {plural(nfiles, 'file')}{also}", err=True)
    else:
        click.echo(ok_line + also)


def _summary(sources, shown: set[str]) -> str:
    """`5 segments, 1 group in 2 files`: what the files asked for declare."""
    decls = [d for src in sources if src.path in shown for d in src.decls]
    segments = sum(isinstance(d, ast.SegmentDecl) for d in decls)
    return (f"{plural(segments, 'segment')}, {plural(len(decls) - segments, 'group')} in "
            f"{plural(len(shown), 'file')}")


@click.command()
@PATHS
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not formatted.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print what would change as a unified diff; change nothing.")
@pass_ctx
def fmt(ctx: Context, paths: tuple[Path, ...], check: bool, show_diff: bool) -> None:
    """Rewrite segment files in the one canonical form.

    With --check or --diff nothing is written: --diff prints a unified diff of what would
    change; --check exits 1 when a file would change.
    """
    from segflow.dsl.formatter import format_text

    files = discover(paths or [ctx.config.segments_dir])
    problems: list[Diagnostic] = []
    changed = []
    for path in files:
        shown = display_path(path, ctx.root)
        text = path.read_text(encoding="utf-8")
        try:
            formatted = format_text(text, shown)
        except SegflowError as exc:
            problems.extend(exc.diagnostics)
            continue
        if formatted == text:
            continue
        changed.append(shown)
        if show_diff:
            click.echo(_diff(text, formatted, shown), nl=False)
        elif not check:
            path.write_text(formatted, encoding="utf-8")
    for name in changed:
        click.echo(f"{'would reformat' if check or show_diff else 'reformatted'} {name}")
    if problems:
        raise SegflowError(problems)
    if not changed:
        click.echo(f"{len(files)} file{'s' * (len(files) != 1)} already formatted")
    if check and changed:
        raise SystemExit(EXIT_ERROR)


def _diff(text: str, formatted: str, shown: str) -> str:
    """A unified diff from the file to its canonical form (a BOM dropped shows as a change)."""
    lines = difflib.unified_diff(text.splitlines(keepends=True),
                                 formatted.splitlines(keepends=True), f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _check_dialect(dialect: str) -> str:
    """A dialect sqlglot knows, or a usage error listing them."""
    from sqlglot.dialects.dialect import Dialects

    known = sorted(d.value for d in Dialects if d.value)
    if dialect.lower() not in known:
        from segflow.compiler.checker import did_you_mean

        raise click.BadParameter(f"unknown SQL dialect '{dialect}'{did_you_mean(dialect, known)}"
                                 f" (known: {', '.join(known)})", param_hint="'--dialect'")
    return dialect.lower()


@click.command(name="compile")
@click.argument("segment")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluate as of this day (default: today in the store's time zone).")
@click.option("--dialect", default="postgres", show_default=True, help="SQL dialect to print (the queries are written for, and tested on, postgres; "
              "another dialect is sqlglot's translation).")
@pass_ctx
def compile_(ctx: Context, segment: str, as_of: dt.datetime | None, dialect: str) -> None:
    """Print the SQL query returning SEGMENT's customer ids."""
    from segflow.compiler.query import render, segment_query

    dialect = _check_dialect(dialect)
    project = load(ctx)
    tz = ctx.config.store.timezone
    ev = Evaluation(as_of.date() if as_of else today_in(tz), tz)
    click.echo(render(segment_query(project, segment, ev), dialect=dialect) + ";")


def register(cli: click.Group) -> None:
    for command in (validate, fmt, compile_):
        cli.add_command(command)
