"""`seg report`: the same pages as a static site with relative links; `seg serve`'s safety."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.web.static_site import MARKER
from tests.web.conftest import XSS


@pytest.fixture
def seg(state_url, tmp_path):
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": state_url})
    return lambda *args: runner.invoke(cli, ["-C", str(tmp_path), *args])


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|action)="([^"#?]*)', html)


def test_report_writes_every_page_with_relative_links(seg, tmp_path, plan_file):
    out = tmp_path / "site"
    result = seg("report", "--out", str(out), "--plan", str(plan_file))
    assert result.exit_code == 0, result.output
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [MARKER, "groups.html", "groups/lifecycle.html", "index.html", "plan.html",
                     "segments/buyers.html", "segments/repeat_buyers.html", "segments/vips.html",
                     "static/dashboard.js", "static/style.css"]
    for page in out.rglob("*.html"):
        html = page.read_text()
        assert 'data-static="1"' in html
        assert XSS not in html
        for link in links(html):
            if link.startswith("data:") or not link:
                continue
            assert not link.startswith(("/", "http")), (page, link)
            assert (page.parent / link).resolve().is_file(), (page, link)
    assert "seg members buyers" in (out / "segments/buyers.html").read_text() or \
        'rel="next"' not in (out / "segments/buyers.html").read_text()


def test_report_replaces_an_earlier_report_but_nothing_else(seg, tmp_path):
    out = tmp_path / "site"
    assert seg("report", "--out", str(out)).exit_code == 0
    (out / "stale.html").write_text("old")
    assert seg("report", "--out", str(out)).exit_code == 0
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = seg("report", "--out", str(mine))
    assert result.exit_code == 1 and "not an earlier segflow report" in result.output
    assert (mine / "notes.txt").read_text() == "keep me" and len(list(mine.iterdir())) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no build left over


def test_report_without_members_leaves_customer_details_out(seg, tmp_path, state_url):
    import psycopg

    out = tmp_path / "site"
    assert seg("report", "--out", str(out), "--no-members").exit_code == 0
    with psycopg.connect(state_url) as conn:
        emails = [r[0] for r in conn.execute("SELECT email FROM store.customers"
                                             " WHERE email IS NOT NULL")]
    text = "".join(p.read_text() for p in out.rglob("*.html"))
    assert emails and not any(e in text for e in emails)
    assert "left out of this report" in text


def test_report_no_features_skips_them_and_says_so(seg, tmp_path):
    from tests.web.test_analytics_sections import section

    full, lean = tmp_path / "full", tmp_path / "lean"
    assert seg("report", "--out", str(full)).exit_code == 0
    assert seg("report", "--out", str(lean), "--no-features").exit_code == 0
    for page in sorted((lean / "segments").glob("*.html")):
        block = section(page.read_text(), "features")
        assert "<table" not in block and "Most purchased products" not in block
        assert (f"Left out of this report (<code>seg report --no-features</code>); "
                f"<code>seg features {page.stem}</code> computes them.") in block
        assert "<table" in section((full / "segments" / page.name).read_text(), "features")
        other = section(page.read_text(), "revenue")  # the other sections are all there
        assert other == section((full / "segments" / page.name).read_text(), "revenue")


def test_serve_refuses_a_missing_plan_file(seg, tmp_path):
    result = seg("serve", "--plan", str(tmp_path / "nope.json"))
    assert result.exit_code == 1 and "no plan file" in result.output


def test_scaffolded_run_workflow_can_publish_the_report_off_by_default(tmp_path: Path):
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "repo/.github/workflows/segflow-run.yml").read_text()
    assert "seg report --out" in text and "--no-members" in text
    steps = re.findall(r"- name: (.*)\n\s+if: (.*)", text)
    publishing = [cond for name, cond in steps if "report" in name.lower()]
    assert publishing and all(c == "vars.SEGFLOW_PUBLISH_REPORT == 'true'" for c in publishing)


def test_seg_serve_answers_on_loopback_and_stops(state_url, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    proc = subprocess.Popen(
        [sys.executable, "-c", "from segflow.cli.main import main; main()",
         "-C", str(tmp_path), "serve", "--port", "0"],
        env={**os.environ, "SEG_DATABASE_URL": state_url},
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        with urllib.request.urlopen(f"http://127.0.0.1:{match[1]}/") as response:
            assert response.status == 200 and b"segment-grid" in response.read()
    finally:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_seg_serve_on_a_busy_port_says_so(seg):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = seg("serve", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
