"""`seg ingest shopify-api` keeps each refund's date: a past day is evaluated without the
refunds made after it (Order.refunds { id createdAt totalRefundedSet })."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.facts import FactSet
from segflow.compiler.query import CompiledProject, render
from segflow.sources.shopify_api.importer import import_from_api
from tests.shopify.conftest import make_client
from tests.shopify.test_ingest_api import _customer, _money, _order


def _spent(conn, day: dt.date) -> Decimal:
    facts = render(CompiledProject(Evaluation(day, "UTC"), FactSet(), {}).facts_query())
    return conn.execute(f"SELECT total_spent FROM ({facts}) AS f WHERE customer_id = 501"
                        ).fetchone()[0]


def test_api_refunds_apply_from_the_day_they_were_made(conn, fake):
    fake.export_customers = [_customer(501, "2025-02-01T00:00:00Z")]
    fake.export_orders = [_order(
        9001, 501, "2025-02-10T15:00:00Z", "2025-03-05T00:00:00Z", "40.00",
        displayFinancialStatus="PARTIALLY_REFUNDED", totalRefundedSet=_money("25.00"),
        refunds=[{"id": "gid://shopify/Refund/71", "createdAt": "2025-02-20T09:00:00Z",
                  "totalRefundedSet": _money("10.00")},
                 {"id": "gid://shopify/Refund/72", "createdAt": "2025-03-05T00:00:00Z",
                  "totalRefundedSet": _money("15.00")}])]
    with make_client(fake) as client:
        import_from_api(conn, client, poll_seconds=0.01)
    assert "refunds { id createdAt totalRefundedSet" in fake.bulk.last_query
    assert conn.execute("SELECT order_id, refund_id, created_at, amount FROM store.refunds"
                        " ORDER BY 2").fetchall() == [
        (9001, 71, dt.datetime(2025, 2, 20, 9, tzinfo=dt.UTC), Decimal("10.00")),
        (9001, 72, dt.datetime(2025, 3, 5, tzinfo=dt.UTC), Decimal("15.00"))]
    assert _spent(conn, dt.date(2025, 2, 19)) == Decimal("40.00")
    assert _spent(conn, dt.date(2025, 2, 20)) == Decimal("30.00")
    assert _spent(conn, dt.date(2025, 3, 5)) == Decimal("15.00")

    # a refund Shopify no longer lists is gone after the next import; unchanged ones stay
    fake.export_orders[0].update(updatedAt="2025-03-06T00:00:00Z",
                                 totalRefundedSet=_money("10.00"),
                                 refunds=fake.export_orders[0]["refunds"][:1])
    with make_client(fake) as client:
        import_from_api(conn, client, poll_seconds=0.01)
    assert conn.execute("SELECT refund_id FROM store.refunds").fetchall() == [(71,)]
    assert _spent(conn, dt.date(2025, 3, 6)) == Decimal("30.00")
