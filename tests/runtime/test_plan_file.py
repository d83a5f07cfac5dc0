"""A saved plan is applied only if it is exactly what `seg plan` wrote against this database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.lifecycle import plan_file
from tests.runtime import helpers as h

RULES = """
segment buyers {
  tag = "seg-buyer"
  where order_count >= 1
}

segment vips {
  where tags contains "vip"
}
"""


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "rules.seg").write_text(RULES)
    return tmp_path


@pytest.fixture
def seg(store_db, project):
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db})
    return lambda *args: runner.invoke(cli, ["-C", str(project), *args])


@pytest.fixture
def saved(seg, project) -> Path:
    out = project / "plan.json"
    result = seg("plan", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def _segment(data: dict, seg_id: str, key: str = "desired_segments") -> dict:
    return next(s for s in data[key] if s["id"] == seg_id)


def _rule(data):
    for key, field in (("desired_segments", "source"), ("segments", "new_source")):
        s = _segment(data, "buyers", key)
        s[field] = s[field].replace("order_count >= 1", "order_count >= 0")


def _counts(data):
    _segment(data, "buyers", "segments")["members_after"] = 14


def _segments(data):
    data["segments"] = [s for s in data["segments"] if s["id"] != "vips"]
    data["desired_segments"] = [s for s in data["desired_segments"] if s["id"] != "vips"]


def _tag(data):
    _segment(data, "buyers")["tag"] = "seg-everyone"
    _segment(data, "buyers", "segments")["tag"] = "seg-everyone"


@pytest.mark.parametrize("change", [_rule, _counts, _segments, _tag],
                         ids=["rule text", "counts", "list of segments", "tags"])
def test_an_edited_plan_file_is_refused_and_nothing_is_applied(seg, saved, conn, change):
    _edit(saved, change)
    result = seg("apply", str(saved), "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "is not exactly what `seg plan` wrote against this database" in result.output
    assert "its signature does not match" in result.output
    assert "Traceback" not in result.output
    assert h.count(conn, "segflow.segments") == 0
    assert h.count(conn, "segflow.tag_outbox") == 0


def test_the_plan_file_as_written_applies(seg, saved, conn):
    _edit(saved, lambda data: None)  # re-indented, keys in another order: the same plan
    data = json.loads(saved.read_text())
    saved.write_text(json.dumps(dict(reversed(list(data.items())))))
    result = seg("apply", str(saved), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert h.count(conn, "segflow.segments") == 2


def test_an_unsigned_or_old_plan_file_is_refused(seg, saved, conn):
    _edit(saved, lambda data: data.pop("signature"))
    result = seg("apply", str(saved), "--auto-approve")
    assert result.exit_code == 1 and "is not signed" in result.output
    _edit(saved, lambda data: data.update(format=1))
    result = seg("apply", str(saved), "--auto-approve")
    assert result.exit_code == 1 and "made by another segflow version" in result.output
    assert h.count(conn, "segflow.segments") == 0


def test_a_plan_made_against_another_database_is_refused(seg, saved, conn):
    conn.execute("UPDATE segflow.plan_key SET key = 'another database'")
    result = seg("apply", str(saved), "--auto-approve")
    assert result.exit_code == 1 and "signature does not match" in result.output


def test_json_output_is_the_signed_plan(seg, saved, conn, project):
    printed = json.loads(seg("plan", "--format", "json").output)
    assert set(printed) == set(json.loads(saved.read_text()))
    assert len(printed["signature"]) == 64


def _resigned(saved: Path, conn, change) -> dict:
    """The plan edited, then signed again with the right key (as if by someone who has it)."""
    from segflow.lifecycle.plan_model import Plan

    body = json.loads(saved.read_text())
    body.pop("signature")
    change(body)
    return json.loads(plan_file.signed_json(Plan.model_validate(body), plan_file.plan_key(conn)))


def _fingerprint_only(data):
    _segment(data, "buyers")["fingerprint"] = "0" * 16


def _compiled_sql(data):
    _segment(data, "buyers")["compiled_sql"] = "SELECT customer_id FROM store.customers"


def _attribute(data):
    _segment(data, "buyers")["tag"] = "seg-other"  # the source still says seg-buyer


@pytest.mark.parametrize("change, message", [
    (_rule, "fingerprint does not match"),
    (_fingerprint_only, "fingerprint does not match"),
    (_compiled_sql, "compiled SQL is not that of its definition"),
    (_attribute, "attributes are not those of its definition"),
    (_segments, None),  # consistent: the signature is what refuses it
])
def test_every_fingerprint_is_checked_against_what_it_covers(saved, conn, project, change,
                                                             message):
    body = _resigned(saved, conn, change)
    key = plan_file.plan_key(conn)
    if message is None:
        plan_file.verify(body, key, "plan.json", h.TZ, project)
        return
    with pytest.raises(SegflowError, match=message):
        plan_file.verify(body, key, "plan.json", h.TZ, project)


def test_reading_the_key_leaves_no_transaction_open(store_db):
    """`seg apply PLAN` reads the key first: the apply must still commit on its own."""
    import psycopg
    from psycopg.pq import TransactionStatus

    with psycopg.connect(store_db) as c:
        plan_file.plan_key(c)
        assert c.info.transaction_status == TransactionStatus.IDLE
