"""A scratch segments repository under git, driven through the `seg` CLI (CliRunner)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from click.testing import CliRunner, Result

from segflow.cli.main import cli

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class Repo:
    """`seg init` into `path` (unless `scaffold` is False: the files are there), then
    `git init` on main with everything committed."""

    def __init__(self, path: Path, env: dict[str, str] | None = None, *, scaffold: bool = True):
        self.path = path
        self.env = env or {}
        if scaffold:
            result = self.seg("init", str(path), project=False)
            assert result.exit_code == 0, result.output
        self.git("init", "-q", "-b", "main")
        self.commit("seg init" if scaffold else "initial")

    def seg(self, *args: str, project: bool = True, env: dict[str, str] | None = None) -> Result:
        head = ["-C", str(self.path)] if project else []
        return CliRunner().invoke(cli, [*head, *args], env=env or self.env)

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                              text=True, env={**os.environ, **GIT_ENV}, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def write(self, rel: str, text: str) -> None:
        (self.path / rel).write_text(text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        text = (self.path / rel).read_text(encoding="utf-8")
        assert old in text, old
        self.write(rel, text.replace(old, new))


def without_sql(markdown: str) -> str:
    """The plan's Markdown with compiled SQL elided: SQL shapes have their own snapshots
    (tests/compiler), so a compiler change does not churn the plan snapshots."""
    return re.sub(r"```sql\n.*?\n```", "```sql\n<compiled sql>\n```", markdown, flags=re.S)
