"""Every template runs on a real PostgreSQL against a generated store; derived defaults match
an independent computation in Python."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_sources
from segflow.compiler.query import render, segment_query
from segflow.dsl.parser import parse
from segflow.templates.derive import DERIVERS, derive, round_half_up
from segflow.templates.library import get, templates
from tests.templates.store import AS_OF, CUSTOMERS, ORDERS, TZ

EV = Evaluation(AS_OF, TZ)


def members(conn: psycopg.Connection, text: str, segment_id: str, root: Path) -> set[int]:
    project = load_sources([parse(text, "t.seg")], root)
    return {row[0] for row in conn.execute(render(segment_query(project, segment_id, EV)))}


# Templates the generated store is known to populate with their fixed defaults.
NON_EMPTY = [
    "one_timers", "repeaters", "loyals", "active_customers", "at_risk_customers",
    "churned_customers", "prospects", "product_buyers", "repeat_product_buyers",
    "any_of_products_buyers", "bulk_buyers", "gift_card_buyers", "first_product_buyers",
    "first_order_channel", "first_order_source", "first_order_discount", "acquired_via_social",
    "acquired_via_search", "newsletter_buyers", "marketplace_customers", "subscribers",
    "gift_orders", "in_store_buyers", "draft_order_customers", "discount_hunters",
    "discount_code_users", "vip_customers", "wholesale_customers", "email_subscribers_buyers",
    "buyers_not_subscribed", "sms_subscribers", "province_customers", "region_customers",
    "country_customers", "international_customers", "ships_to_province", "first_x_then_y",
    "channel_switchers", "second_order_product", "one_timers_by_first_product", "due_for_refill",
    "bought_x_not_y", "beans_without_equipment", "coffee_buyers_no_tea", "active_not_new",
    "high_value_customers", "high_aov_customers", "campaign_buyers", "hibernating_repeaters",
    "lapsed_product_buyers", "loyals_by_store_average", "top_spenders", "long_time_customers",
    "loyal_subscribers",
]


def test_every_template_runs(pg_conn, tmp_path):
    counts = {}
    for t in templates().values():
        counts[t.id] = len(members(pg_conn, t.render(), t.id, tmp_path))
    empty = [tid for tid in NON_EMPTY if counts[tid] == 0]
    assert not empty, f"expected members for {empty}"
    population = len(CUSTOMERS)
    assert all(n <= population for n in counts.values())


@pytest.mark.parametrize("threshold", [3, 5, 6])
def test_lifecycle_partitions_customers_who_ordered(pg_conn, tmp_path, threshold):
    values = {"loyal_min_orders": threshold}
    one = members(pg_conn, get("one_timers").render(), "one_timers", tmp_path)
    rep = members(pg_conn, get("repeaters").render(values), "repeaters", tmp_path)
    loy = members(pg_conn, get("loyals").render(values), "loyals", tmp_path)
    ordered = {c.customer_id for c in CUSTOMERS if any(o.counted for o in c.orders)}
    assert one and rep and loy
    assert not (one & rep) and not (one & loy) and not (rep & loy)
    assert one | rep | loy == ordered
    counts = {c.customer_id: sum(o.counted for o in c.orders) for c in CUSTOMERS}
    assert loy == {cid for cid, n in counts.items() if n >= threshold}


def test_recency_templates_match_python(pg_conn, tmp_path):
    last = {c.customer_id: max(o.placed_at.date() for o in c.orders if o.counted)
            for c in CUSTOMERS if any(o.counted for o in c.orders)}
    since = {cid: (AS_OF - d).days for cid, d in last.items()}
    assert members(pg_conn, get("active_customers").render(), "active_customers", tmp_path) == \
        {cid for cid, d in since.items() if d <= 30}
    assert members(pg_conn, get("at_risk_customers").render(), "at_risk_customers", tmp_path) == \
        {cid for cid, d in since.items() if 60 < d <= 90}
    assert members(pg_conn, get("churned_customers").render(), "churned_customers", tmp_path) == \
        {cid for cid, d in since.items() if d > 90}


# ---------------------------------------------------------------- derived defaults, in Python


def _counted():
    return [o for o in ORDERS if o.counted]


def _top(values) -> str | None:
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    best = max(counts.values())
    return min(v for v, n in counts.items() if n == best)


def _percentile_cont(values, q) -> float:
    xs = sorted(float(v) for v in values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def expected_defaults() -> dict:
    counted = _counted()
    per_customer: dict[int, list] = {}
    for o in sorted(counted, key=lambda o: (o.placed_at, o.order_id)):
        per_customer.setdefault(o.customer_id, []).append(o)
    first = [os_[0] for os_ in per_customer.values()]
    later = [o for os_ in per_customer.values() for o in os_[1:]]

    def products(orders):
        return [p for o in orders for p in {line[0] for line in o.lines}]

    first_sale: dict[str, object] = {}
    for o in counted:
        for line in o.lines:
            first_sale[line[0]] = min(first_sale.get(line[0], o.placed_at), o.placed_at)
    newest = max(first_sale.values())
    gaps = [(b.placed_at - a.placed_at).total_seconds() / 86400
            for os_ in per_customer.values() for a, b in itertools.pairwise(os_)]
    avg = Decimal(len(counted)) / Decimal(len(per_customer))
    spent = [sum(o.total_price for o in os_) for os_ in per_customer.values()]
    return {
        "twice_average_order_count": max(2, round_half_up(2 * avg)),
        "top_product": _top(products(counted)),
        "top_first_product": _top(products(first)),
        "top_repeat_product": _top(products(later)),
        "newest_product": min(p for p, t in first_sale.items() if t == newest),
        "top_utm_source": _top(o.utm_source for o in counted),
        "top_first_utm_source": _top(o.utm_source for o in first),
        "top_utm_campaign": _top(o.utm_campaign for o in counted),
        "top_source": _top(o.source for o in counted),
        "top_channel": _top(o.channel for o in counted),
        "top_discount_code": _top(c for o in counted for c in o.discount_codes),
        "top_order_tag": _top(t for o in counted for t in o.tags),
        "top_customer_tag": _top(t for c in CUSTOMERS for t in c.tags),
        "top_province": _top(c.province for c in CUSTOMERS),
        "top_country": _top(c.country for c in CUSTOMERS),
        "median_days_between_orders": max(1, round_half_up(statistics.median(gaps))),
        "p75_order_total": Decimal(round_half_up(
            _percentile_cont([o.total_price for o in counted], 0.75))),
        "p90_total_spent": Decimal(round_half_up(_percentile_cont(spent, 0.9))),
    }


def test_derived_defaults_match_python(pg_conn):
    got = derive(pg_conn, DERIVERS)
    want = expected_defaults()
    assert set(want) == set(DERIVERS)
    assert got == want


def test_derived_defaults_on_an_empty_store(pg_conn):
    pg_conn.execute("DELETE FROM store.order_lines; DELETE FROM store.orders;"
                    " DELETE FROM store.customers")
    assert all(v is None for v in derive(pg_conn, DERIVERS).values())


def test_templates_render_with_derived_defaults(pg_conn, tmp_path):
    got = derive(pg_conn, DERIVERS)
    for t in templates().values():
        values = {n: p.check(got[p.derive]) for n, p in t.params.items() if p.derive}
        members(pg_conn, t.render(values), t.id, tmp_path)  # valid and runs
