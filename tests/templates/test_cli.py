"""`seg template ls/show/new` and `seg duplicate` on a temporary project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.templates.library import templates

MAIN = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    shutil.copytree(MAIN / "segments", tmp_path / "segments")
    shutil.copy(MAIN / "seg.toml", tmp_path / "seg.toml")
    monkeypatch.delenv("SEG_DATABASE_URL", raising=False)
    return tmp_path


def seg(project: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["-C", str(project), *args], env=env, catch_exceptions=False)


def validate(project: Path) -> None:
    r = seg(project, "validate")
    assert r.exit_code == 0, r.output


def test_ls(project):
    r = seg(project, "template", "ls")
    assert r.exit_code == 0
    for t in templates().values():
        assert t.id in r.output
    r = seg(project, "template", "ls", "--category", "Geographic", "--format", "json")
    rows = json.loads(r.output)
    assert rows and {row["category"] for row in rows} == {"Geographic"}
    r = seg(project, "template", "ls", "--search", "refill")
    assert "due_for_refill" in r.output and "province_customers" not in r.output
    r = seg(project, "template", "ls", "--category", "nope")
    assert r.exit_code == 1 and "unknown category" in r.output


def test_show_offline_defaults(project):
    r = seg(project, "template", "show", "first_x_then_y")
    assert r.exit_code == 0, r.output
    assert "Customer Journey" in r.output
    assert 'first_product (string) = "Coffee Starter Kit"  [fixed default' in r.output
    assert "no database configured" in r.output
    assert 'where first_order.product = "Coffee Starter Kit"' in r.output
    r = seg(project, "template", "show", "nope")
    assert r.exit_code == 1 and "unknown template" in r.output


def test_new_with_fixed_defaults_and_set(project):
    r = seg(project, "template", "new", "recent_product_buyers", "espresso_recent",
            "--set", "product=Espresso Blend", "--set", "days=14")
    assert r.exit_code == 0, r.output
    text = (project / "segments" / "espresso_recent.seg").read_text()
    assert 'orders[date >= today - 14d and product = "Espresso Blend"].count >= 1' in text
    assert "days = 14  (--set)" in r.output
    validate(project)
    assert seg(project, "fmt", "--check", str(project / "segments" / "espresso_recent.seg")
               ).exit_code == 0
    # the same id again: refused (exists in the project), file untouched
    r = seg(project, "template", "new", "loyals", "espresso_recent")
    assert r.exit_code == 1 and "already exists" in r.output
    # an id used by an existing segment
    r = seg(project, "template", "new", "loyals", "loyals")
    assert r.exit_code == 1 and "already exists" in r.output
    # an existing output file
    (project / "other.seg").write_text("# mine\n")
    r = seg(project, "template", "new", "loyals", "fresh", "-o", str(project / "other.seg"))
    assert r.exit_code == 1 and "not overwriting" in r.output
    assert (project / "other.seg").read_text() == "# mine\n"


def test_new_to_output_file(project):
    out = project / "segments" / "extra" / "vip.seg"
    r = seg(project, "template", "new", "vip_big_spenders", "vip_200", "-o", str(out),
            "--title", "VIPs over 200")
    assert r.exit_code == 0, r.output
    assert 'title = "VIPs over 200"' in out.read_text()
    validate(project)


@pytest.mark.parametrize(("setting", "message"), [
    ("nope=1", "has no parameter 'nope'"),
    ("loyal_min_orders=many", "is an integer"),
    ("loyal_min_orders=1", "at least 3"),
    ("loyal_min_orders", "NAME=VALUE"),
])
def test_new_bad_set(project, setting, message):
    r = seg(project, "template", "new", "loyals", "my_loyals", "--set", setting)
    assert r.exit_code == 1
    assert message in r.output
    assert not (project / "segments" / "my_loyals.seg").exists()


def test_bad_segment_id(project):
    r = seg(project, "template", "new", "loyals", "2bad")
    assert r.exit_code == 1 and "not a valid segment id" in r.output


def test_new_and_show_with_store_defaults(project, pg_db):
    env = {"SEG_DATABASE_URL": pg_db}
    r = seg(project, "template", "show", "first_x_then_y", env=env)
    assert r.exit_code == 0, r.output
    assert "from the store data (top_first_product)" in r.output
    r = seg(project, "template", "new", "loyals_by_store_average", "store_loyals", env=env)
    assert r.exit_code == 0, r.output
    assert "min_orders = 6  (from the store data: twice_average_order_count)" in r.output
    assert "order_count >= 6" in (project / "segments" / "store_loyals.seg").read_text()
    r = seg(project, "template", "new", "loyals_by_store_average", "fixed_loyals", "--offline",
            env=env)
    assert "min_orders = 5  (fixed default)" in r.output
    validate(project)


def test_unreachable_database_falls_back(project):
    env = {"SEG_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none"}
    r = seg(project, "template", "new", "top_spenders", "big", env=env)
    assert r.exit_code == 0, r.output
    assert "amount = 500  (fixed default)" in r.output
    assert "cannot read the database" in r.output and "secret" not in r.output
    validate(project)


def test_duplicate(project):
    r = seg(project, "duplicate", "loyals", "loyals_copy")
    assert r.exit_code == 0, r.output
    assert "tag 'seg-loyal' was not copied" in r.output
    text = (project / "segments" / "loyals_copy.seg").read_text()
    assert "segment loyals_copy {" in text
    assert 'title = "Copy of Loyal customers"' in text
    assert "groups = [lifecycle]" in text
    assert "tag =" not in text
    assert "order_count >= 5" in text
    validate(project)
    assert seg(project, "fmt", "--check", str(project / "segments" / "loyals_copy.seg")
               ).exit_code == 0
    r = seg(project, "duplicate", "loyals", "loyals_copy")
    assert r.exit_code == 1 and "already exists" in r.output
    r = seg(project, "duplicate", "loyalz", "x")
    assert r.exit_code == 1 and "unknown segment" in r.output
    r = seg(project, "duplicate", "win_back", "win_back_2", "-o", str(project / "wb.seg"))
    assert r.exit_code == 0, r.output
    assert "segment repeaters" in (project / "wb.seg").read_text()
