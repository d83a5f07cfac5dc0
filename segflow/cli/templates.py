"""Commands over the template library (`seg template ls/show/new`) and `seg duplicate`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from segflow.cli.main import Context, pass_ctx
from segflow.errors import SegflowError


def _templates_api():
    from segflow.templates import library

    return library


def _segments_dir(ctx: Context) -> Path:
    return ctx.config.segments_dir


def _project_ids(ctx: Context) -> set[str]:
    """Segment ids already used in the project (the project must be valid)."""
    from segflow.cli.lang import load

    if not _segments_dir(ctx).is_dir():
        return set()
    return set(load(ctx).segments)


def _output_path(ctx: Context, segment_id: str, output: Path | None) -> Path:
    path = output if output is not None else _segments_dir(ctx) / f"{segment_id}.seg"
    if not path.is_absolute() and output is None:
        path = ctx.root / path
    if path.exists():
        raise SegflowError(f"{_shown(ctx, path)} already exists: not overwriting it (choose "
                           "another id or -o FILE)")
    return path


def _shown(ctx: Context, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ctx.root.resolve()))
    except ValueError:
        return str(path)


def _check_new(ctx: Context, text: str, path: Path) -> None:
    """The new file must validate together with the project."""
    from segflow.compiler.project import build_project, discover, parse_files
    from segflow.dsl.parser import parse

    folder = _segments_dir(ctx)
    files = discover([folder]) if folder.is_dir() else []
    sources, diagnostics = parse_files(files, ctx.root)
    sources.append(parse(text, _shown(ctx, path)))
    build_project(sources, ctx.root, diagnostics)


def _write(ctx: Context, path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as f:  # "x": never overwrite, even in a race
        f.write(text)


def _parse_sets(template, sets: tuple[str, ...]) -> dict:
    values = {}
    for item in sets:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise SegflowError(f"--set expects NAME=VALUE, got {item!r}")
        if name not in template.params:
            from segflow.templates.library import _unknown_params

            raise SegflowError(_unknown_params(template, [name]))
        values[name] = template.params[name].parse(text)
    return values


def _defaults(ctx: Context, template, offline: bool):
    from segflow.templates.derive import resolve_defaults

    if offline:
        return resolve_defaults(template, None)[0], "offline: using the templates' fixed defaults"
    return resolve_defaults(template, ctx.config)


@click.group(name="template")
def template_group() -> None:
    """The template library: 50+ ready-made segments, by category."""


@template_group.command(name="ls")
@click.option("--category", "-c", help="Only this category (name or slug, e.g. 'reward_loyals').")
@click.option("--search", "-s", "text", help="Only templates whose text has all these words.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def ls(category: str | None, text: str | None, fmt: str) -> None:
    """List templates: id, category, title."""
    lib = _templates_api()
    found = lib.search(category, text)
    if fmt == "json":
        click.echo(json.dumps([{
            "id": t.id, "category": t.category, "title": t.title, "description": t.description,
            "params": {p.name: {"type": p.type, "default": lib.literal(p.default),
                                "derive": p.derive} for p in t.params.values()},
        } for t in found], indent=2))
        return
    if not found:
        click.echo("no template matches")
        return
    wid = max(len(t.id) for t in found)
    wcat = max(len(t.category) for t in found)
    click.echo(f"{'ID':<{wid}}  {'CATEGORY':<{wcat}}  TITLE")
    for t in found:
        click.echo(f"{t.id:<{wid}}  {t.category:<{wcat}}  {t.title}")
    click.echo(f"\n{len(found)} template{'s' * (len(found) != 1)}")


@template_group.command()
@click.argument("template_id")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter (repeatable).")
@click.option("--offline", is_flag=True, help="Do not read the store: fixed defaults only.")
@pass_ctx
def show(ctx: Context, template_id: str, sets: tuple[str, ...], offline: bool) -> None:
    """Show a template: what it is for, its parameters and defaults, and the rendered rule."""
    lib = _templates_api()
    t = lib.get(template_id)
    overrides = _parse_sets(t, sets)
    defaults, note = _defaults(ctx, t, offline)
    click.echo(f"{t.id}: {t.title}")
    click.echo(f"category:      {t.category}")
    click.echo(f"description:   {t.description}")
    click.echo(f"when to use:   {t.when_to_use}")
    click.echo(f"campaign idea: {t.campaign_idea}")
    click.echo("parameters:" if t.params else "parameters:    none")
    values = {}
    for name, p in t.params.items():
        if name in overrides:
            value, origin = overrides[name], "set on the command line"
        else:
            r = defaults[name]
            value = r.value
            origin = (f"from the store data ({p.derive})" if r.source == "store" else
                      "fixed default" + (f"; the store can derive it ({p.derive})"
                                         if p.derive else ""))
        values[name] = value
        click.echo(f"  {name} ({p.type}) = {lib.literal(value)}  [{origin}]")
        click.echo(f"      {p.doc}")
    if note and any(p.derive for p in t.params.values()):
        click.echo(f"note: {note}; fixed defaults used")
    click.echo("\n" + t.render(values), nl=False)


@template_group.command()
@click.argument("template_id")
@click.argument("segment_id")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter (repeatable).")
@click.option("--title", help="The segment's title (default: the template's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (default: segments/<SEGMENT_ID>.seg).")
@click.option("--offline", is_flag=True, help="Do not read the store: fixed defaults only.")
@pass_ctx
def new(ctx: Context, template_id: str, segment_id: str, sets: tuple[str, ...],
        title: str | None, output: Path | None, offline: bool) -> None:
    """Create a segment file from a template, ready for a pull request."""
    lib = _templates_api()
    t = lib.get(template_id)
    lib.check_segment_id(segment_id)
    overrides = _parse_sets(t, sets)
    if segment_id in _project_ids(ctx):
        raise SegflowError(f"a segment '{segment_id}' already exists in the project: choose "
                           "another id")
    path = _output_path(ctx, segment_id, output)
    defaults, note = _defaults(ctx, t, offline)
    values = {name: overrides.get(name, r.value) for name, r in defaults.items()}
    text = t.render(values, segment_id=segment_id, title=title)
    _check_new(ctx, text, path)
    _write(ctx, path, text)
    click.echo(f"wrote {_shown(ctx, path)} (segment {segment_id} from template {t.id})")
    for name, r in defaults.items():
        if name in overrides:
            click.echo(f"  {name} = {lib.literal(overrides[name])}  (--set)")
        elif r.source == "store":
            click.echo(f"  {name} = {lib.literal(r.value)}  (from the store data: {r.derive})")
        else:
            click.echo(f"  {name} = {lib.literal(r.value)}  (fixed default)")
    if note and any(p.derive and p.name not in overrides for p in t.params.values()):
        click.echo(f"note: {note}; fixed defaults used")


@click.command()
@click.argument("segment")
@click.argument("new_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (default: segments/<NEW_ID>.seg).")
@pass_ctx
def duplicate(ctx: Context, segment: str, new_id: str, output: Path | None) -> None:
    """Start a new segment from a copy of SEGMENT's definition.

    The copy keeps the rule, description and groups, is titled "Copy of ...", and has no tag:
    two segments syncing one Shopify tag would fight over it.
    """
    from segflow.cli.lang import load
    from segflow.dsl import ast
    from segflow.dsl.formatter import format_source, format_text
    from segflow.templates.library import check_segment_id

    check_segment_id(new_id)
    project = load(ctx)
    seg = project.segment(segment)
    if new_id in project.segments:
        raise SegflowError(f"a segment '{new_id}' already exists in the project: choose another id")
    path = _output_path(ctx, new_id, output)
    attrs = [a for a in seg.decl.attrs if a.name not in ("title", "tag")]
    attrs.insert(0, ast.Attr("title", ast.StringLit(f"Copy of {seg.title}")))
    decl = dataclasses.replace(seg.decl, name=new_id, attrs=tuple(attrs))
    body = format_source(ast.SourceFile(_shown(ctx, path), (decl,)))
    text = format_text(f"# Duplicated from segment {seg.id} ({seg.path}).\n{body}",
                       _shown(ctx, path))
    _check_new(ctx, text, path)
    _write(ctx, path, text)
    click.echo(f"wrote {_shown(ctx, path)} (segment {new_id}, a copy of {seg.id})")
    if seg.tag:
        click.echo(f"note: the tag '{seg.tag}' was not copied: two segments syncing one Shopify "
                   "tag would add and remove it against each other; give the copy its own tag")


def register(cli: click.Group) -> None:
    cli.add_command(template_group)
    cli.add_command(duplicate)
