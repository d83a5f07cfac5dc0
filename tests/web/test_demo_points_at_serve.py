"""`seg demo` ends by pointing at the dashboard.

The demo's own work (a fresh embedded cluster, a generated store) is replaced by the session's
state database: what is under test is the command's closing output, and initdb alone would cost
more than every other dashboard test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.lifecycle import demo

ROOT = Path(__file__).resolve().parents[2]


def test_demo_ends_pointing_at_seg_serve(tmp_path, monkeypatch, state_url):
    shutil.copytree(ROOT / "segments", tmp_path / "segments")
    (tmp_path / "seg.toml").write_text("")
    monkeypatch.setattr(demo, "run_demo", lambda *a, **kw: demo.DemoResult(
        customers=100, orders=200, segments=3, days=9, seconds=1.0, url=state_url))
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "demo"])
    assert result.exit_code == 0, result.output
    last = result.output.rstrip().splitlines()[-1]
    assert last == "See it all in your browser: `seg serve` (http://127.0.0.1:8765/)."
