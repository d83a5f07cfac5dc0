"""The normalised definition of a segment, and its fingerprint.

A segment's definition is its declaration in canonical form (comments dropped), plus the hash of
its static list file. The fingerprint changes exactly when the definition does. The *effective*
fingerprint also covers the segments it refers to, since their rules are inlined into it: when
`loyals` changes, `loyal_but_slipping` changes too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from segflow.compiler.project import Group, Project, Segment
from segflow.dsl import ast
from segflow.dsl.formatter import format_source


def declaration_source(decl: ast.Decl) -> str:
    """The declaration alone, in canonical form, without comments."""
    return format_source(ast.SourceFile("<definition>", (decl,)))


def list_hash(segment: Segment, root: Path) -> str | None:
    if segment.list_path is None:
        return None
    path = root / segment.list_path
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def fingerprint(source: str, list_digest: str | None = None) -> str:
    digest = hashlib.sha256(source.encode())
    if list_digest:
        digest.update(b"\0list:" + list_digest.encode())
    return digest.hexdigest()[:16]


def segment_fingerprint(segment: Segment, root: Path) -> str:
    return fingerprint(declaration_source(segment.decl), list_hash(segment, root))


def group_fingerprint(group: Group) -> str:
    return fingerprint(declaration_source(group.decl))


def effective_fingerprints(project: Project, own: dict[str, str]) -> dict[str, str]:
    """Fingerprints that also change when a segment referred to (transitively) changes."""
    out: dict[str, str] = {}
    for seg in project.in_dependency_order():
        digest = hashlib.sha256(own[seg.id].encode())
        for dep in seg.depends_on:
            digest.update(out[dep].encode())
        out[seg.id] = digest.hexdigest()[:16]
    return out
