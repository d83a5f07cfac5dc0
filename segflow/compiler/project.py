"""A segments repository loaded, parsed and checked: the desired state.

`load_project` reads every `*.seg` file under the given paths, parses them all (collecting syntax
errors per declaration) and checks them together; it returns a `Project` or raises one
`SegflowError` holding every diagnostic.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from segflow.compiler.checker import check_files, segment_refs
from segflow.compiler.lists import check_list
from segflow.dsl import ast
from segflow.dsl.parse_cache import cache_for
from segflow.dsl.parser import PartialParse, parse
from segflow.errors import Diagnostic, SegflowError

SEGMENT_SUFFIX = ".seg"


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    description: str
    path: str
    decl: ast.GroupDecl = field(compare=False, repr=False)


@dataclass(frozen=True)
class Segment:
    id: str
    title: str
    description: str
    groups: tuple[str, ...]
    tag: str | None
    list_path: str | None
    rule: ast.Expr | None
    path: str
    decl: ast.SegmentDecl = field(compare=False, repr=False)

    @property
    def is_static(self) -> bool:
        return self.list_path is not None

    @cached_property
    def depends_on(self) -> tuple[str, ...]:
        """Segments this one's rule refers to, in order of first mention."""
        if self.rule is None:
            return ()
        return tuple(dict.fromkeys(r.name for r in segment_refs(self.rule)))


@dataclass(frozen=True)
class Project:
    root: Path
    segments: dict[str, Segment]
    groups: dict[str, Group]
    files: tuple[ast.SourceFile, ...] = field(repr=False, default=())

    def segment(self, segment_id: str) -> Segment:
        try:
            return self.segments[segment_id]
        except KeyError:
            from segflow.compiler.checker import did_you_mean

            raise SegflowError(
                f"unknown segment '{segment_id}'{did_you_mean(segment_id, self.segments)}"
            ) from None

    def in_dependency_order(self) -> list[Segment]:
        """Segments sorted so that every segment comes after those it refers to."""
        done: dict[str, Segment] = {}

        def visit(seg: Segment) -> None:
            if seg.id in done:
                return
            for dep in seg.depends_on:
                visit(self.segments[dep])
            done[seg.id] = seg

        for seg_id in sorted(self.segments):
            visit(self.segments[seg_id])
        return list(done.values())


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every segment file under the given files and folders, sorted, each file once.

    A file named twice (relative and absolute, `./x.seg` and `x.seg`, a folder and a file in
    it) is the same file: files are told apart by their resolved path, and the first way it was
    reached is kept (absolute, so it compares equal however the caller wrote it).
    """
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.rglob(f"*{SEGMENT_SUFFIX}") if p.is_file())
        elif path.is_file():
            candidates = [path]
        else:
            raise SegflowError(f"{path}: no such file or folder")
        for candidate in candidates:
            found.setdefault(candidate.resolve(), candidate.absolute())
    return sorted(found.values())


def parse_files(files: Iterable[Path], root: Path, *, cache: bool = True
                ) -> tuple[list[ast.SourceFile], list[Diagnostic]]:
    """Parse each file; syntax errors are collected, not raised.

    Files unchanged since an earlier run come from the project's parse cache (see parse_cache).
    """
    sources, diagnostics = [], []
    parse_cache = cache_for(root) if cache else None
    with gc_paused():
        _parse_all(files, root, sources, diagnostics, parse_cache.parse if parse_cache else parse)
        if parse_cache:
            parse_cache.save()
    return sources, diagnostics


@contextmanager
def gc_paused(*, freeze: bool = False):
    """Pause the cyclic GC during a batch that only builds objects that stay alive.

    Parsing a project and compiling it allocate hundreds of thousands of objects and free almost
    none; the collector would rescan that growing heap again and again (about 2x on large
    projects, compile included). With `freeze` (for a command that ends soon after), what was
    built is moved out of the collector's sight, so that re-enabling it does not cost one full
    scan of the heap (0.5 s on 1,000 files).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze:
                gc.freeze()
            gc.enable()


def _parse_all(files, root: Path, sources: list, diagnostics: list, parse_one) -> None:
    for path in files:
        shown = display_path(path, root)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diagnostics.append(Diagnostic(shown, None, None, f"cannot read file: {exc}", "io"))
            continue
        try:
            sources.append(parse_one(text, shown))
        except PartialParse as exc:  # syntax errors: the declarations that parsed are checked
            diagnostics.extend(exc.diagnostics)
            sources.append(exc.source)
        except SegflowError as exc:
            diagnostics.extend(exc.diagnostics)


def load_project(paths: Iterable[Path], root: Path) -> Project:
    """Parse and check the segment files under `paths`; raise with every problem found."""
    sources, diagnostics = parse_files(discover(paths), root)
    return build_project(sources, root, diagnostics)


def load_sources(sources: list[ast.SourceFile], root: Path) -> Project:
    """A project from already parsed files (templates, tests)."""
    return build_project(sources, root, [])


def build_project(sources: list[ast.SourceFile], root: Path, diagnostics: list[Diagnostic], *,
                  check_list_files: bool = True) -> Project:
    """Check parsed files together and build the project; raise with every problem found."""
    diagnostics = _checked(sources, root, diagnostics, check_list_files)
    if diagnostics:
        raise SegflowError(diagnostics)
    return _assemble(sources, root)


def check_project(sources: list[ast.SourceFile], root: Path, diagnostics: list[Diagnostic]
                  ) -> tuple[Project, list[Diagnostic]]:
    """Check without stopping: every problem, and the project of the segments free of them.

    A segment is in that project when its declaration has no problem and neither has any
    segment it refers to (transitively), so it can be compiled: `seg validate` compiles those,
    and reports compile errors in the rest of the project whatever is broken elsewhere.
    """
    diagnostics = _checked(sources, root, diagnostics, True)
    project = _assemble(sources, root)
    faulty = {(d.file, d.line) for d in diagnostics}
    flagged = {d.file for d in diagnostics if d.line is None}

    def clean(seg: Segment) -> bool:
        span = seg.decl.span
        return seg.path not in flagged and not any(
            (seg.path, line) in faulty for line in range(span.line, span.end_line + 1))

    ok = {seg_id for seg_id, seg in project.segments.items() if clean(seg)}
    changed = True
    while changed:  # drop those that refer to a segment not kept (missing, faulty, dropped)
        keep = {s for s in ok if all(d in ok for d in project.segments[s].depends_on)}
        changed, ok = keep != ok, keep
    segments = {seg_id: seg for seg_id, seg in project.segments.items() if seg_id in ok}
    return Project(root, segments, project.groups, project.files), diagnostics


def _checked(sources, root: Path, diagnostics: list[Diagnostic], check_list_files: bool
             ) -> list[Diagnostic]:
    with gc_paused():
        diagnostics = [*diagnostics, *check_files(sources)]
    if check_list_files:
        diagnostics += _check_list_files(sources, root)
    return sorted(diagnostics, key=lambda d: (d.file or "", d.line or 0, d.col or 0))


def _assemble(sources: list[ast.SourceFile], root: Path) -> Project:
    """The project of checked files (a duplicate id: the first declaration)."""
    segments: dict[str, Segment] = {}
    groups: dict[str, Group] = {}
    for src in sources:
        for decl in src.decls:
            if decl.name in (groups if isinstance(decl, ast.GroupDecl) else segments):
                continue
            if isinstance(decl, ast.GroupDecl):
                groups[decl.name] = Group(
                    decl.name, _str_attr(decl, "title") or decl.name,
                    _str_attr(decl, "description") or "", src.path, decl,
                )
            else:
                groups_attr = decl.attr("groups")
                segments[decl.name] = Segment(
                    id=decl.name,
                    title=_str_attr(decl, "title") or decl.name,
                    description=_str_attr(decl, "description") or "",
                    groups=groups_attr.value.items
                    if groups_attr and isinstance(groups_attr.value, ast.NameList) else (),
                    tag=_str_attr(decl, "tag"),
                    list_path=_str_attr(decl, "list"),
                    rule=decl.where.expr if decl.where else None,
                    path=src.path,
                    decl=decl,
                )
    return Project(root, segments, groups, tuple(sources))


def _str_attr(decl: ast.Decl, name: str) -> str | None:
    for attr in decl.attrs:
        if attr.name == name and isinstance(attr.value, ast.StringLit):
            return attr.value.value
    return None


def _check_list_files(sources: list[ast.SourceFile], root: Path) -> list[Diagnostic]:
    out = []
    for src in sources:
        for decl in src.decls:
            if not isinstance(decl, ast.SegmentDecl):
                continue
            attr = decl.attr("list")
            if attr is None or not isinstance(attr.value, ast.StringLit) or not attr.value.value:
                continue
            bad_path, problems = check_list(root, attr.value.value)
            if bad_path is not None:
                span = attr.value.span
                out.append(Diagnostic(src.path, span.line, span.col, str(bad_path),
                                      bad_path.code, span.end_col, src.line(span.line)))
            out += [d for d in problems if d not in out]  # a file two segments share: once
    return out


def display_path(path: Path, root: Path) -> str:
    """How a file is named in messages: relative to the project folder when inside it."""
    try:
        return str(path.relative_to(root))  # the usual case, without a system call
    except ValueError:
        pass
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
