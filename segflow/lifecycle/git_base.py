"""The segment files at a git base: what an offline plan compares the working tree with.

Offline there is no database to hold the applied state. What stands in for it is what the
default branch holds, since merging to it applies (the apply workflow): by default the merge base
of HEAD with the default branch, so a branch that is behind does not show the default branch's
newer changes as reverted. `--base` names a revision (`origin/main`: its tip, what CI compares a
pull request's merge commit with) or a folder holding another checkout of the repository.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from segflow.compiler.project import Project, load_project
from segflow.errors import SegflowError

DEFAULT_BRANCHES = ("origin/main", "origin/master", "main", "master")


@dataclass(frozen=True)
class Base:
    """`project` None: nothing to compare with, and `label` says why."""

    label: str
    project: Project | None


def _git(root: Path, *args: str) -> str | None:
    """git's output, or None when the command fails (or git is missing)."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        return None
    return done.stdout.decode().strip() if done.returncode == 0 else None


def _default_branch(root: Path) -> str | None:
    head = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    for name in ([head] if head else []) + list(DEFAULT_BRANCHES):
        if _git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"):
            return name
    return None


def _project_at(tree: Path, segments: Path) -> Project:
    """The base's project (an empty one where the folder did not exist yet)."""
    folder = tree / segments
    try:
        return load_project([folder] if folder.is_dir() else [], tree)
    except SegflowError as exc:
        raise SegflowError(exc.diagnostics, hint="these problems are in the base the plan "
                           "compares with, not in your working tree") from None


@contextmanager
def base_project(root: Path, segments: Path, spec: str | None) -> Iterator[Base]:
    """The project at the base (valid while the block runs: list files live in a temp dir).

    `segments` is the segments folder relative to `root`. A `spec` that cannot be found is an
    error; without a spec, a missing repository or default branch gives a Base without project.
    """
    if spec and Path(spec).is_dir():
        yield Base(f"the folder {spec}", _project_at(Path(spec), segments))
        return
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        if spec:
            raise SegflowError(f"--base {spec}: {root} is not in a git repository, and {spec} is "
                               "not a folder")
        yield Base(f"{root} is not in a git repository", None)
        return
    if spec:
        commit = _git(root, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
        if commit is None:
            raise SegflowError(f"--base {spec}: no such git revision",
                               hint=f"fetch it first (git fetch origin {spec.split('/')[-1]})")
        label = f"{spec} ({commit[:7]})"
    else:
        branch = _default_branch(root)
        commit = _git(root, "merge-base", "HEAD", branch) if branch else None
        if commit is None:
            why = (f"no commit shared with {branch}" if branch else
                   "no default branch found: " + ", ".join(DEFAULT_BRANCHES))
            yield Base(why + "; name one with --base", None)
            return
        label = f"{branch} (merge base {commit[:7]})"
    prefix = Path(root).resolve().relative_to(Path(top).resolve()).as_posix()
    treeish = commit if prefix == "." else f"{commit}:{prefix}"
    with tempfile.TemporaryDirectory(prefix="segflow-base-") as tmp:
        if _git(root, "cat-file", "-e", treeish) is not None:
            archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", treeish],
                                     capture_output=True, check=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
        yield Base(label, _project_at(Path(tmp), segments))
