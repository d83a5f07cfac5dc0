"""A segflow state to look at: the hand-built store, a few segments (one titled like an attack),
nine days of daily runs, the first three marked as backfilled, and a saved plan. One product is
named like markup (after the runs: no rule reads it) for the features' escaping."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from segflow.web.app import Dashboard, ReadOnlyDatabase
from segflow.web.view import View
from tests.pg import cloned
from tests.runtime import helpers

XSS = "<script>alert(1)</script>"
RULES = f"""
group lifecycle {{
  title = "Lifecycle <b>stages</b>"
}}

segment buyers {{
  title = "Buyers"
  groups = [lifecycle]
  tag = "seg-buyer"
  where order_count >= 1
}}

segment repeat_buyers {{
  title = "Repeat buyers"
  groups = [lifecycle]
  where order_count >= 2 and segment buyers   # a reference, linked on the page
}}

segment vips {{
  title = {XSS!r}
  description = "Tagged <i>vip</i> & friends"
  where tags contains "vip"
}}
""".replace("'", '"')
FIRST = helpers.AS_OF - dt.timedelta(days=8)
DAYS = [FIRST + dt.timedelta(days=n) for n in range(9)]
BACKFILLED = 3  # the first three days are marked as written by a backfill
MARKUP_PRODUCT = "<b>x</b>"


MARKUP_ERROR = "Tag <img src=x onerror=alert(1)> refused"  # a userError made of markup
MARKUP_TAG = "<b>promo</b>"  # the tag of a one-off action on buyers


def sync_tags(conn: psycopg.Connection) -> None:
    """Tag sync through the runtime against the fake Admin API: the runs queued buyers' tag; one
    add is refused with a markup error, the fake lacks one buyer (its add fails), the rest is
    done; then a one-off action on buyers, synced (partly failed) too."""
    from segflow.connectors.shopify.fake import FakeOptions, FakeShopify
    from segflow.destinations.shopify import actions, outbox, sync
    from tests.shopify.conftest import TOKEN, make_client, store_tags

    (first,), _ = outbox.claim(conn, 1)
    outbox.record_failed(conn, [(first.op_id, MARKUP_ERROR)])
    missing = conn.execute("SELECT min(customer_id) FROM segflow.tag_outbox WHERE status ="
                           " 'pending' AND segment_id = 'buyers'").fetchone()[0]
    options = FakeOptions(token=TOKEN, bucket_size=1000, restore_rate=100_000, retry_after="0")
    with FakeShopify(options) as fake:
        fake.customers = {c: t for c, t in store_tags(conn).items() if c != missing}
        with make_client(fake) as client:
            sync.sync(conn, client)
            actions.assign(conn, "buyers", MARKUP_TAG)
            sync.sync(conn, client)


def build_state(conn: psycopg.Connection) -> None:
    helpers.load_migrated_store(conn)
    conn.autocommit = True
    root = Path(tempfile.mkdtemp(prefix="segflow-web-"))
    proj = helpers.project(RULES, root)
    helpers.plan_apply(conn, proj, root, FIRST)
    for day in DAYS:
        helpers.run(conn, day, root)
    for table in ("daily_metrics", "daily_activity"):
        conn.execute(f"UPDATE segflow.{table} SET backfilled = true WHERE day < %s",
                     (DAYS[BACKFILLED],))
    conn.execute("UPDATE store.order_lines SET product = %s WHERE product = 'Grinder'",
                 (MARKUP_PRODUCT,))
    sync_tags(conn)


@pytest.fixture(scope="session")
def state_template(make_template) -> str:
    return make_template("web_state", build_state)


@pytest.fixture(scope="session")
def state_url(pg_cluster, state_template) -> Iterator[str]:
    """One database for the whole session: the dashboard only reads it."""
    with cloned(pg_cluster, state_template, "web") as url:
        yield url


PLANNED = RULES.replace("order_count >= 2 and", "order_count >= 3 and") + """
segment newcomers {
  title = "Newcomers"
  where order_count = 1
}
"""


@pytest.fixture(scope="session")
def plan_file(state_url, tmp_path_factory) -> Path:
    """A saved plan against the state: one segment changed, one created."""
    from segflow.lifecycle.plan import plan_for

    root = tmp_path_factory.mktemp("plan")
    with helpers.connect(state_url) as conn:
        plan = plan_for(conn, helpers.project(PLANNED, root), helpers.TZ, helpers.AS_OF)
    path = root / "plan.json"
    path.write_text(plan.model_dump_json(indent=2))
    return path


@pytest.fixture(scope="session")
def database(state_url) -> Iterator[ReadOnlyDatabase]:
    db = ReadOnlyDatabase(state_url)
    yield db
    db.close()


@pytest.fixture(scope="session")
def app(database, plan_file) -> Dashboard:
    return Dashboard(database, View(plan_path=plan_file, timezone=helpers.TZ))
