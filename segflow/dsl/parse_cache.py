"""Parsed segment files kept between runs, keyed by each file's content.

Lark parses ~150,000 tokens (1,000 files) in about a second; unpickling the same trees takes a
tenth of that. The cache is one file, `<project>/.segflow/cache/parse-<code>.pickle`, where
<code> hashes segflow's version, the grammar and the parser / AST sources, so a new segflow never
reads an old layout. It maps the sha256 of a file's text to its declarations and comments; only
files that parsed cleanly are stored, and each save keeps only the entries of that run.

Safety: a pickle can run code when loaded, and a pull request could commit a crafted cache file
(.segflow/ is git-ignored, but ignoring does not stop `git add -f`). So the file is signed with an
HMAC whose key lives outside the project, in the user's cache folder (created on first use, mode
0600); a file that does not verify, is truncated or does not unpickle is ignored and rewritten.
Any failure to read or write the cache only costs the time it would have saved.
`SEG_NO_CACHE=1` turns it off; it is off in CI (`CI` set), where every checkout starts cold.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import tempfile
from importlib import resources
from pathlib import Path

from segflow import __version__
from segflow.dsl import ast
from segflow.dsl.parser import parse, without_bom

NO_CACHE_ENV = "SEG_NO_CACHE"
_DIGEST = hashlib.sha256
_SIG_SIZE = 32


def _code_key() -> str:
    """Changes whenever what a parse produces could change."""
    h = _DIGEST(__version__.encode())
    pkg = resources.files("segflow.dsl")
    for name in ("segflow.lark", "parser.py", "ast.py"):
        h.update(pkg.joinpath(name).read_bytes())
    return h.hexdigest()[:16]


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "segflow" / "cache-key"


def _signing_key() -> bytes | None:
    path = _key_file()
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key
    except OSError:
        return None


class ParseCache:
    """Parse through the cache of one project; `save()` once the batch is done."""

    def __init__(self, root: Path):
        self.path = root / ".segflow" / "cache" / f"parse-{_code_key()}.pickle"
        self._key = _signing_key()
        self._entries = self._load() if self._key else {}
        self._used: dict[bytes, tuple] = {}
        self._new = False

    def parse(self, text: str, path: str) -> ast.SourceFile:
        text = without_bom(text)
        digest = _DIGEST(text.encode()).digest()
        hit = self._entries.get(digest)
        if hit is None:
            source = parse(text, path)  # raises on a syntax error: bad files are not stored
            hit = (source.decls, source.comments)
            self._new = True
        self._used[digest] = hit
        return ast.SourceFile(path=path, decls=hit[0], comments=hit[1], text=text)

    def _load(self) -> dict:
        try:
            blob = self.path.read_bytes()
        except OSError:
            return {}
        sig, data = blob[:_SIG_SIZE], blob[_SIG_SIZE:]
        if not hmac.compare_digest(sig, hmac.new(self._key, data, _DIGEST).digest()):
            return {}
        try:
            entries = pickle.loads(data)
        except Exception:  # a damaged cache is only a slower run
            return {}
        return entries if isinstance(entries, dict) else {}

    def save(self) -> None:
        """Write this run's entries when they differ from what was read (atomically)."""
        if self._key is None or (not self._new and len(self._used) == len(self._entries)):
            return
        try:
            data = pickle.dumps(self._used, protocol=pickle.HIGHEST_PROTOCOL)
        except (RecursionError, pickle.PicklingError):  # no cache is only a slower next run
            return
        blob = hmac.new(self._key, data, _DIGEST).digest() + data
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".parse-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)


def cache_for(root: Path) -> ParseCache | None:
    """The project's parse cache, or None when turned off.

    Off in CI (`CI` set, as GitHub Actions and most CI services do): a fresh checkout never has
    a cache signed with the runner's key, so writing one would only cost time (~15 %).
    """
    if any(os.environ.get(name, "") not in ("", "0", "false") for name in (NO_CACHE_ENV, "CI")):
        return None
    return ParseCache(root)
