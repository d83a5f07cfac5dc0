"""A day after today is refused unless forced, and `seg rewind --to D` goes back from a wrong day:
the result equals never having run the days after D (tag operations included)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.errors import SegflowError
from segflow.lifecycle.rewind import rewind
from segflow.lifecycle.run import run_day
from tests.pg import cloned
from tests.runtime import helpers as h

END = dt.date(2026, 6, 30)
APPLIED = dt.date(2026, 6, 20)
WRONG = dt.date(2099, 1, 1)
RULES = """
segment repeaters {
  tag = "seg-repeater"
  where order_count >= 2
}
segment active {
  tag = "seg-active"
  where days_since_last_order <= 30
}
segment busy { where orders[date >= today - 30d].count >= 2 }
"""
HISTORY = {
    "events": "SELECT day, segment_ord, customer_id, entered, backfilled"
              " FROM segflow.membership_events ORDER BY 1, 2, 3, 4",
    "metrics": "SELECT * FROM segflow.daily_metrics ORDER BY day, segment_id",
    "activity": "SELECT * FROM segflow.daily_activity ORDER BY day, segment_id",
    "members": "SELECT * FROM segflow.customer_segments ORDER BY customer_id",
    "last_run_day": "SELECT last_run_day FROM segflow.state",
    "ledger": "SELECT customer_id, tag, segment_id, action_id FROM segflow.applied_tags"
              " ORDER BY customer_id, lower(tag)",
}


@pytest.fixture(scope="module")
def gen_template(make_template) -> str:
    return make_template("rewind_store", lambda c: h.load_generated_store(c, 300, 9, END))


def _state(conn: psycopg.Connection) -> dict:
    out = {k: conn.execute(q).fetchall() for k, q in HISTORY.items()}
    out["tags in Shopify once the queue is sent"] = _tags_once_sent(conn)
    return out


def _tags_once_sent(conn: psycopg.Connection) -> set[tuple[int, str]]:
    """The customer tags Shopify ends with when every queued operation has been sent in order."""
    tags: set[tuple[int, str]] = set()
    for customer, tag, op in conn.execute(
            "SELECT customer_id, lower(tag), op FROM segflow.tag_outbox"
            " WHERE status IN ('done', 'sent', 'pending') ORDER BY op_id"):
        (tags.add if op == "add" else tags.discard)((customer, tag))
    return tags


def _sync(conn: psycopg.Connection, *, in_flight: bool = False) -> None:
    """As if `seg sync` sent the queue: every other operation still in flight if asked."""
    conn.execute("UPDATE segflow.tag_outbox SET status = CASE WHEN %s AND op_id %% 2 = 0"
                 " THEN 'sent' ELSE 'done' END WHERE status = 'pending'", (in_flight,))


def _history(conn, root: Path, days: int) -> None:
    h.plan_apply(conn, h.project(RULES, root), root, today=APPLIED)
    for n in range(days):
        h.run(conn, APPLIED + dt.timedelta(days=n), root)
    _sync(conn)


def test_a_day_after_today_is_refused_unless_forced(conn, tmp_path):
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path)
    counts = h.history_counts(conn)
    with pytest.raises(SegflowError, match=r"2099-01-01 is after today .*--force-future"):
        h.run(conn, WRONG, tmp_path)
    assert h.history_counts(conn) == counts
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    with pytest.raises(SegflowError, match="is after today"):
        h.run(conn, tomorrow, tmp_path)
    assert run_day(conn, WRONG, h.TZ, tmp_path, allow_future=True).wrote


def test_run_date_in_the_future_exits_1_and_force_future_runs_it(conn, store_db, tmp_path):
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path)
    (tmp_path / "seg.toml").write_text('[store]\ntimezone = "America/Toronto"\n')
    runner = CliRunner(env={"SEG_DATABASE_URL": store_db})
    refused = runner.invoke(cli, ["-C", str(tmp_path), "run", "--date", "2099-01-01"])
    assert refused.exit_code == 1 and "--force-future" in refused.output
    assert "Traceback" not in refused.output
    assert h.count(conn, "segflow.runs WHERE kind = 'run'") == 0
    forced = runner.invoke(cli, ["-C", str(tmp_path), "run", "--date", "2099-01-01",
                                 "--force-future"])
    assert forced.exit_code == 0, forced.output
    again = runner.invoke(cli, ["-C", str(tmp_path), "run", "--date", "2025-03-15"])
    assert again.exit_code == 1 and "seg rewind --to 2025-03-15" in again.output
    back = runner.invoke(cli, ["-C", str(tmp_path), "rewind", "--to", "2025-03-15",
                               "--auto-approve"])
    assert back.exit_code == 0, back.output
    assert "Rewound to 2025-03-15: 1 days removed" in back.output
    assert runner.invoke(cli, ["-C", str(tmp_path), "run", "--date",
                               "2025-03-15"]).exit_code == 0


@pytest.mark.parametrize("wrong_days", [[WRONG], [END + dt.timedelta(days=3),
                                                  END + dt.timedelta(days=9), WRONG]])
def test_rewind_equals_never_having_run_the_days_after(pg_cluster, gen_template, tmp_path,
                                                       wrong_days):
    days = 5
    kept = APPLIED + dt.timedelta(days=days - 1)
    with cloned(pg_cluster, gen_template, "rw") as ref_url, \
            cloned(pg_cluster, gen_template, "rw") as url, \
            h.connect(ref_url) as ref, h.connect(url) as conn:
        _history(ref, tmp_path, days)
        _history(conn, tmp_path, days)
        assert _state(conn) == _state(ref)
        for n, day in enumerate(wrong_days):
            run_day(conn, day, h.TZ, tmp_path, allow_future=True)
            if n == 0:
                _sync(conn, in_flight=True)  # some of the wrong day's tags already sent
        assert _state(conn) != _state(ref)
        done = rewind(conn, kept)
        assert done.days == wrong_days and done.last_run_day == kept
        assert done.tags is not None and done.tags.adds > 0  # compensating the sent removes
        if len(wrong_days) > 1:  # the later wrong days' operations were never sent
            assert done.tags.cancelled > 0
        assert _state(conn) == _state(ref)
        assert h.count(conn, "segflow.runs WHERE status = 'rewound'") == len(wrong_days)
        # and the days after go on exactly as they would have
        for n in range(1, 4):
            day = kept + dt.timedelta(days=n)
            h.run(ref, day, tmp_path)
            h.run(conn, day, tmp_path)
            assert _state(conn) == _state(ref), day
        h.run(conn, day, tmp_path)  # a same-day re-run still records nothing new
        assert _state(conn) == _state(ref)


def test_rewind_is_refused_across_an_apply_and_when_there_is_nothing_to_remove(conn, tmp_path):
    h.plan_apply(conn, h.project(RULES, tmp_path), tmp_path)
    with pytest.raises(SegflowError, match="nothing to rewind"):
        rewind(conn, h.AS_OF)
    run_day(conn, WRONG, h.TZ, tmp_path, allow_future=True)
    h.plan_apply(conn, h.project(RULES + "segment big { where total_spent >= 100 }\n",
                                 tmp_path), tmp_path)  # evaluated as of the wrong day
    counts = h.history_counts(conn)
    with pytest.raises(SegflowError, match=r"a `seg apply` changed segments as of 2099-01-01"):
        rewind(conn, h.AS_OF)
    assert h.history_counts(conn) == counts
