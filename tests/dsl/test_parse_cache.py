"""The parse cache: a warm run gives exactly the trees of a cold one, and a damaged or planted
cache file is never trusted."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from segflow.compiler.project import parse_files
from segflow.dsl.parse_cache import ParseCache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv("SEG_NO_CACHE", raising=False)
    monkeypatch.delenv("CI", raising=False)


def _project(tmp_path: Path) -> tuple[Path, list[Path]]:
    root = tmp_path / "proj"
    (root / "segments").mkdir(parents=True)
    files = []
    for src in sorted((ROOT / "segments").rglob("*.seg")):
        dest = root / "segments" / src.name
        dest.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        files.append(dest)
    bad = root / "segments" / "zz_bad.seg"
    bad.write_text("segment broken { where x = = }\n", encoding="utf-8")
    return root, [*files, bad]


def _everything(sources):
    """Trees with spans and comments (plain equality ignores positions)."""
    return [(s.path, repr(s.decls), [d.span for d in s.decls], s.comments, s.text) for s in sources]


def test_warm_run_gives_the_same_trees_spans_and_errors(tmp_path):
    root, files = _project(tmp_path)
    cold, cold_errors = parse_files(files, root, cache=False)
    first, first_errors = parse_files(files, root)
    cache_file = next((root / ".segflow" / "cache").glob("parse-*.pickle"))
    warm, warm_errors = parse_files(files, root)
    assert _everything(first) == _everything(warm) == _everything(cold)
    assert cold_errors == first_errors == warm_errors and cold_errors
    assert cache_file.exists()


def test_only_files_that_parse_are_stored(tmp_path):
    root, files = _project(tmp_path)
    parse_files(files, root)
    cache = ParseCache(root)
    assert len(cache._entries) == len(files) - 1


@pytest.mark.parametrize("damage", ["truncate", "garbage", "planted"])
def test_a_damaged_or_planted_cache_is_ignored(tmp_path, damage):
    root, files = _project(tmp_path)
    expected, _ = parse_files(files, root, cache=False)
    parse_files(files, root)
    cache_file = next((root / ".segflow" / "cache").glob("parse-*.pickle"))
    blob = cache_file.read_bytes()
    marker = tmp_path / "pwned"
    if damage == "truncate":
        cache_file.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        cache_file.write_bytes(b"\0" * 100)
    else:  # a pickle that would run code, as a pull request could commit it
        payload = pickle.dumps(_Exploit(str(marker)))
        cache_file.write_bytes(b"x" * 32 + payload)
    again, _ = parse_files(files, root)
    assert _everything(again) == _everything(expected)
    assert not marker.exists()
    assert ParseCache(root)._entries  # rewritten, signed with the user's key


@pytest.mark.parametrize("env", ["SEG_NO_CACHE", "CI"])
def test_no_cache_env_and_ci_turn_it_off(tmp_path, monkeypatch, env):
    monkeypatch.setenv(env, "true")
    root, files = _project(tmp_path)
    parse_files(files, root)
    assert not (root / ".segflow").exists()


class _Exploit:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))
