"""The GitOps review loop end to end, on a scratch git repository and a real database:
`seg init`, apply the starter segments, a branch adds a segment from a template and duplicates
another, the pull request's Markdown plan, merge, apply, and then no changes."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import psycopg

from segflow.cli.render_plan import GITHUB_COMMENT_LIMIT
from tests.gitops.conftest import END
from tests.gitops.scratch import Repo, without_sql

SPENT = 300


def big_spenders(url: str, day: dt.date, threshold: int) -> int:
    """Customers who paid at least `threshold` up to the end of `day` (UTC), in plain Python."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    spent: dict[int, Decimal] = defaultdict(Decimal)
    with psycopg.connect(url) as conn:
        for customer, amount, cancelled, test, placed in conn.execute(
                "SELECT customer_id, net_amount, cancelled_at, is_test, placed_at FROM store.orders"):
            if customer is not None and cancelled is None and not test and placed < end:
                spent[customer] += amount
    return sum(1 for total in spent.values() if total >= threshold)


def test_pull_request_plan_merge_apply_then_no_changes(tmp_path: Path, demo_db: str, snapshot):
    repo = Repo(tmp_path / "shop", env={"SEG_DATABASE_URL": demo_db})
    applied = repo.seg("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Applied: 6 created" in applied.output
    # the daily run for END pins the day plans evaluate as of (the last run's day)
    ran = repo.seg("run", "--date", END.isoformat())
    assert ran.exit_code == 0, ran.output

    repo.git("checkout", "-q", "-b", "more-segments")
    new = repo.seg("template", "new", "high_value_customers", "big_spenders",
                   "--set", f"amount={SPENT}")
    assert new.exit_code == 0, new.output
    dup = repo.seg("duplicate", "loyals", "loyals_copy")
    assert dup.exit_code == 0, dup.output
    repo.commit("Add big spenders; start loyals_copy from loyals")

    preview = repo.seg("plan", "--format", "markdown", "--detailed-exitcode")
    assert preview.exit_code == 2, preview.output
    md = preview.output
    assert md.startswith("<!-- segflow-plan -->") and len(md) < GITHUB_COMMENT_LIMIT
    assert f"Evaluated as of **{END}**." in md
    assert without_sql(md) == snapshot

    data = json.loads(repo.seg("plan", "--format", "json").output)
    changes = {s["id"]: s for s in data["segments"] if s["action"] != "unchanged"}
    assert set(changes) == {"big_spenders", "loyals_copy"}
    assert changes["big_spenders"]["members_after"] == big_spenders(demo_db, END, SPENT)
    loyals = next(s for s in data["segments"] if s["id"] == "loyals")
    assert changes["loyals_copy"]["members_after"] == loyals["members_before"] > 0
    assert changes["loyals_copy"]["tag"] is None  # a copy never takes the original's tag

    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge more-segments", "more-segments")
    merged = repo.seg("apply", "--auto-approve")
    assert merged.exit_code == 0, merged.output
    assert "Applied: 2 created, 0 changed, 0 retired" in merged.output

    after = repo.seg("plan", "--detailed-exitcode")
    assert after.exit_code == 0, after.output
    assert "No changes. The applied segments match the files." in after.output
    offline = repo.seg("plan", "--offline", "--detailed-exitcode")
    assert offline.exit_code == 0, offline.output
    members = repo.seg("members", "big_spenders", "--format", "json")
    assert len(json.loads(members.output)) == big_spenders(demo_db, END, SPENT)
