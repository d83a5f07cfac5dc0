"""`seg report` reads the store's orders once for every segment's features (not once a
segment), and shows its progress, pages done / total, on a terminal only."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from segflow.analytics.features import features_report, features_reports
from segflow.cli.main import cli
from segflow.web import analytics
from segflow.web.static_site import write_report
from segflow.web.view import View
from tests.runtime import helpers


@pytest.fixture
def conn(state_url):
    with helpers.connect(state_url) as c:
        yield c


def segment_ids(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT segment_id FROM segflow.segments"
                                       " WHERE retired_at IS NULL ORDER BY 1")]


def test_batched_features_are_each_segments_features(conn):
    ids = segment_ids(conn)
    many = features_reports(conn, ids, timezone=helpers.TZ)
    assert sorted(many) == ids
    for sid in ids:
        assert many[sid] == features_report(conn, sid, timezone=helpers.TZ), sid
    day = features_report(conn, ids[0]).day
    earlier = features_reports(conn, ids, day=day - dt.timedelta(days=2), top=3)
    for sid in ids:
        assert earlier[sid] == features_report(conn, sid, day=earlier[sid].day, top=3)


def test_the_report_computes_features_in_one_pass(conn, tmp_path, monkeypatch):
    def one_at_a_time(*args, **kwargs):
        raise AssertionError("features computed one segment at a time")

    monkeypatch.setattr(analytics, "features_report", one_at_a_time)
    ticks: list[tuple[int, int]] = []
    result = write_report(conn, tmp_path / "site", View(static=True, timezone=helpers.TZ),
                          lambda done, total: ticks.append((done, total)))
    html = (tmp_path / "site/segments/buyers.html").read_text()
    assert "<h3>Most purchased products</h3>" in html and "Lift" in html
    # progress: one tick a page, plus the features pass, up to the total
    assert [d for d, _ in ticks] == list(range(1, result.pages + 2))
    assert {t for _, t in ticks} == {result.pages + 1}


def _report_on_a_terminal(state_url, tmp_path, *args: str) -> str:
    """`seg report` with stderr on a pseudo-terminal: what it showed there."""
    (tmp_path / "seg.toml").write_text(f'[store]\ntimezone = "{helpers.TZ}"\n')
    leader, follower = os.openpty()
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    done = subprocess.run(
        [sys.executable, "-c", "from segflow.cli.main import main; main()", "-C", str(tmp_path),
         "report", "--out", str(tmp_path / "site"), *args],
        env={**os.environ, "SEG_DATABASE_URL": state_url, "TERM": "xterm", "COLUMNS": "100"},
        stdout=subprocess.PIPE, stderr=follower, text=True, timeout=300, check=False)
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    assert done.returncode == 0, shown.decode(errors="replace")
    assert done.stdout.startswith("Wrote ")
    return shown.decode(errors="replace")


def test_progress_is_shown_on_a_terminal(state_url, tmp_path):
    shown = _report_on_a_terminal(state_url, tmp_path)
    assert "writing pages" in shown
    assert "/" in shown.split("writing pages", 1)[1]  # pages done / total


def test_progress_is_quiet_with_quiet_or_without_a_terminal(state_url, tmp_path):
    assert "writing pages" not in _report_on_a_terminal(state_url, tmp_path, "--quiet")
    (tmp_path / "seg.toml").write_text(f'[store]\ntimezone = "{helpers.TZ}"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": state_url})
    result = runner.invoke(cli, ["-C", str(tmp_path), "report", "--out", str(tmp_path / "s2")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wrote ") and len(result.output.splitlines()) == 1
