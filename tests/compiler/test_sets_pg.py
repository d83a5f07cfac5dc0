"""`lines[...]` and the set aggregates (issue 19, items 3 and 4) on a generated store, against a
plain-Python computation of each rule written from docs/language.md (not from the SQL).

The generated store is topped up with hand-made customers for the edges: a line without a price,
a line discount, an order without lines, a refund made after the evaluation day, orders either
side of midnight in the store's zone, a customer whose only order is cancelled (every set
empty). Evaluated on two days, one just after a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from statistics import mean
from zoneinfo import ZoneInfo

import psycopg
import pytest

from segflow.compiler.evaluation import Evaluation
from segflow.compiler.project import load_sources
from segflow.compiler.query import compile_project, render, segment_query
from segflow.dsl.parser import parse
from tests.runtime.helpers import load_generated_store

TZ = "America/Toronto"
ZONE = ZoneInfo(TZ)
END = dt.date(2026, 3, 10)  # the generated store's last day; 2026-03-08 is the DST change
DAYS = [END, dt.date(2026, 3, 8), dt.date(2025, 11, 2)]  # the last two: DST changes
EDGE = 9_000_000  # ids of the hand-made customers and orders


def _local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE)


def _edges(conn: psycopg.Connection) -> None:
    """Hand-made customers on top of the generated store (see the module's docstring)."""
    customers = [(EDGE + i, f"edge{i}@example.com") for i in range(1, 6)]
    conn.cursor().executemany(
        "INSERT INTO store.customers (customer_id, email, created_at) VALUES (%s, %s, '2025-01-01')",
        customers)
    orders = [
        # 1: a line without a price, a discounted line; an order without lines
        (EDGE + 11, EDGE + 1, _local("2026-01-10 12:00"), "60.00", "0", None, "pos"),
        (EDGE + 12, EDGE + 1, _local("2026-02-10 12:00"), "15.00", "0", None, "web"),
        # 2: its only order is cancelled: every set is empty
        (EDGE + 21, EDGE + 2, _local("2026-01-05 12:00"), "40.00", "0", _local("2026-01-06 09:00"),
         "web"),
        # 3: refunded after the last evaluation day (its full amount counts on the days before)
        (EDGE + 31, EDGE + 3, _local("2026-02-01 12:00"), "200.00", "80.00", None, "web"),
        # 4: at 23:59 on the DST day and 00:00 the day after, in the store's zone
        (EDGE + 41, EDGE + 4, _local("2026-03-08 23:59"), "30.00", "0", None, "web"),
        (EDGE + 42, EDGE + 4, _local("2026-03-09 00:00"), "30.00", "0", None, "pos"),
        # 5: two orders the same day, one of them cancelled after the last day
        (EDGE + 51, EDGE + 5, _local("2025-11-02 08:00"), "90.00", "0", None, "web"),
        (EDGE + 52, EDGE + 5, _local("2025-11-02 20:00"), "45.00", "0", _local("2026-04-01 10:00"),
         "pos"),
    ]
    conn.cursor().executemany(
        "INSERT INTO store.orders (order_id, customer_id, placed_at, total_price, refunded_amount,"
        " cancelled_at, source) VALUES (%s, %s, %s, %s, %s, %s, %s)", orders)
    lines = [
        (EDGE + 11, 1, "Coffee Beans Refill", "Northbound Roasters", "Coffee Beans", 3, "18.00", "4.00"),
        (EDGE + 11, 2, "Ceramic Mug", "Clayworks Studio", "Drinkware", 1, None, "0"),
        (EDGE + 21, 1, "Coffee Beans Refill", "Northbound Roasters", "Coffee Beans", 2, "20.00", "0"),
        (EDGE + 31, 1, "Burr Grinder", "Drip & Co", "Brewing Equipment", 2, "100.00", "0"),
        (EDGE + 41, 1, "Coffee Beans Refill", "Northbound Roasters", "Coffee Beans", 1, "30.00", "0"),
        (EDGE + 42, 1, "Espresso Blend", "Northbound Roasters", "Coffee Beans", 1, "30.00", "0"),
        (EDGE + 51, 1, "Coffee Beans Refill", "Northbound Roasters", "Coffee Beans", 5, "18.00", "0"),
        (EDGE + 52, 1, "Espresso Blend", "Northbound Roasters", "Coffee Beans", 2, "22.50", "0"),
    ]
    conn.cursor().executemany(
        "INSERT INTO store.order_lines (order_id, line_no, product, vendor, product_type, quantity,"
        " price, discount) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", lines)
    conn.execute("INSERT INTO store.refunds (order_id, refund_id, created_at, amount)"
                 " VALUES (%s, 1, %s, 80)", (EDGE + 31, _local("2026-03-20 10:00")))


def _load(conn: psycopg.Connection) -> None:
    load_generated_store(conn, 300, 19, END)
    conn.autocommit = False
    _edges(conn)
    conn.commit()


@pytest.fixture
def pg_db_template(make_template) -> str:
    return make_template("sets_store", _load)


# ---------------------------------------------------------------- the plain-Python model


def _model(conn: psycopg.Connection, day: dt.date) -> dict[int, dict]:
    """Per customer existing on `day`: its counted orders (oldest first) and their lines."""
    cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZONE)
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    later = defaultdict(Decimal)
    for r in cur.execute("SELECT * FROM store.refunds"):
        if r["created_at"] >= cutoff:
            later[r["order_id"]] += r["amount"]
    lines = defaultdict(list)
    for line in cur.execute("SELECT * FROM store.order_lines"):
        lines[line["order_id"]].append(line)
    orders = defaultdict(list)
    for o in cur.execute("SELECT * FROM store.orders ORDER BY placed_at, order_id"):
        if (o["customer_id"] is None or o["is_test"] or o["placed_at"] >= cutoff
                or (o["cancelled_at"] is not None and o["cancelled_at"] < cutoff)):
            continue
        o["amount"] = (o["total_price"] - o["refunded_amount"]
                       + min(later[o["order_id"]], o["refunded_amount"]))
        o["day"] = o["placed_at"].astimezone(ZONE).date()
        o["lines"] = lines[o["order_id"]]
        for line in o["lines"]:
            line["order"] = o
            line["revenue"] = (None if line["price"] is None
                               else line["price"] * line["quantity"] - line["discount"])
        orders[o["customer_id"]].append(o)
    out = {}
    for c in cur.execute("SELECT customer_id, created_at FROM store.customers"):
        mine = orders[c["customer_id"]]
        if c["created_at"] is None or c["created_at"] < cutoff or mine:
            out[c["customer_id"]] = {"orders": mine, "lines": [li for o in mine for li in o["lines"]]}
    return out


def _products(o) -> set:
    return {li["product"] for li in o["lines"]}


def _days_since(day: dt.date, rows, pick=max):
    days = [r["day"] if "day" in r else r["order"]["day"] for r in rows]
    return (day - pick(days)).days if days else None


def _avg(values):
    values = [v for v in values if v is not None]
    return mean(values) if values else None


def _max(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _gt(v, x) -> bool:  # a comparison with an unset value is false
    return v is not None and v > x


REFILL = "Coffee Beans Refill"

# rule -> a plain-Python predicate (customer data, evaluation day)
RULES = {
    f'lines[product = "{REFILL}" and date >= today - 180d].quantity >= 2': lambda c, d: sum(
        li["quantity"] for li in c["lines"] if li["product"] == REFILL
        and li["order"]["day"] >= d - dt.timedelta(days=180)) >= 2,
    'lines[vendor = "Drip & Co"].revenue >= 100': lambda c, d: sum(
        li["revenue"] or 0 for li in c["lines"] if li["vendor"] == "Drip & Co") >= 100,
    'lines[product = "Espresso Blend" and order.source = "pos"].count >= 1': lambda c, d: any(
        li["product"] == "Espresso Blend" and li["order"]["source"] == "pos" for li in c["lines"]),
    # the line's order has a Starter Kit, the line itself is something else
    'lines[order.product = "Coffee Starter Kit" and product != "Coffee Starter Kit"].count >= 2':
        lambda c, d: sum(1 for li in c["lines"] if "Coffee Starter Kit" in _products(li["order"])
                         and li["product"] != "Coffee Starter Kit") >= 2,
    'lines[price is not set].count >= 1': lambda c, d: any(li["price"] is None for li in c["lines"]),
    "lines.revenue >= 300": lambda c, d: sum(li["revenue"] or 0 for li in c["lines"]) >= 300,
    "lines.quantity between 3 and 6": lambda c, d: 3 <= sum(li["quantity"] for li in c["lines"]) <= 6,
    "lines.average >= 40": lambda c, d: _gt(_avg(li["revenue"] for li in c["lines"]), 39.999),
    "not lines.max >= 20": lambda c, d: not _gt(_max(li["revenue"] for li in c["lines"]), 19.999),
    "lines.distinct(product_type) >= 3": lambda c, d: len(
        {li["product_type"] for li in c["lines"]} - {None}) >= 3,
    "lines.distinct(date) >= 2": lambda c, d: len({li["order"]["day"] for li in c["lines"]}) >= 2,
    f'lines[product = "{REFILL}"].days_since_last <= 30': lambda c, d: (lambda v: v is not None
        and v <= 30)(_days_since(d, [li for li in c["lines"] if li["product"] == REFILL])),
    f'orders[product = "{REFILL}"].days_since_last >= 30': lambda c, d: (lambda v: v is not None
        and v >= 30)(_days_since(d, [o for o in c["orders"] if REFILL in _products(o)])),
    f'orders[product = "{REFILL}"].days_since_last is not set': lambda c, d: not any(
        REFILL in _products(o) for o in c["orders"]),
    f'not orders[product = "{REFILL}"].days_since_last > 60': lambda c, d: not _gt(_days_since(
        d, [o for o in c["orders"] if REFILL in _products(o)]), 60),
    "orders.days_since_first between 100 and 400": lambda c, d: (lambda v: v is not None
        and 100 <= v <= 400)(_days_since(d, c["orders"], min)),
    "orders.days_since_last in [0, 1, 2, 3, 4, 5]": lambda c, d: _days_since(d, c["orders"])
        in range(6),
    "orders.last_date >= today - 1d": lambda c, d: bool(c["orders"])
        and c["orders"][-1]["day"] >= d - dt.timedelta(days=1),
    'orders[source = "pos"].first_date <= 2025-06-30': lambda c, d: any(
        o["source"] == "pos" and o["day"] <= dt.date(2025, 6, 30) for o in c["orders"]),
    "orders.distinct(product_type) >= 3": lambda c, d: len(
        {li["product_type"] for li in c["lines"]} - {None}) >= 3,
    "orders.distinct(source) >= 2": lambda c, d: len(
        {o["source"] for o in c["orders"]} - {None}) >= 2,
    f'orders[product = "{REFILL}"].distinct(vendor) >= 2': lambda c, d: len(
        {li["vendor"] for o in c["orders"] if REFILL in _products(o) for li in o["lines"]}
        - {None}) >= 2,
    "later_orders.distinct(date) >= 2": lambda c, d: len({o["day"] for o in c["orders"][1:]}) >= 2,
    "later_orders.average >= 60": lambda c, d: _gt(_avg(o["amount"] for o in c["orders"][1:]),
                                                   59.999),
    "orders[date >= today - 365d].max >= 150": lambda c, d: _gt(_max(
        o["amount"] for o in c["orders"] if o["day"] >= d - dt.timedelta(days=365)), 149.999),
    "orders.max is not set": lambda c, d: not c["orders"],
    "orders.count >= 3": lambda c, d: len(c["orders"]) >= 3,
    "later_orders.count = 1": lambda c, d: len(c["orders"]) == 2,
}


def _project(rules: dict, tmp_path):
    text = "\n".join(f"segment s{i} {{\n  where {rule}\n}}" for i, rule in enumerate(rules))
    return load_sources([parse(text, "sets.seg")], tmp_path)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_rules_agree_with_plain_python(pg_conn, tmp_path, day):
    project = _project(RULES, tmp_path)
    compiled = compile_project(project, Evaluation(day, TZ))
    facts = render(compiled.facts_query())
    model = _model(pg_conn, day)
    for i, (rule, expected) in enumerate(RULES.items()):
        got = {r[0] for r in pg_conn.execute(
            f"SELECT f.customer_id FROM ({facts}) AS f WHERE {render(compiled.predicates[f's{i}'])}")}
        want = {cid for cid, c in model.items() if expected(c, day)}
        assert got == want, (rule, sorted(got ^ want)[:10])
        single = segment_query(project, f"s{i}", Evaluation(day, TZ))
        assert {r[0] for r in pg_conn.execute(render(single))} == want, rule


def test_rules_select_someone_and_not_everyone(pg_conn, tmp_path):
    """Each rule means something on this store (no rule is trivially true or false)."""
    model = _model(pg_conn, END)
    for rule, expected in RULES.items():
        hits = sum(1 for c in model.values() if expected(c, END))
        assert 0 < hits < len(model), rule


EDGES = [
    # a line without a price adds nothing to revenue: 3 x 18 - 4 = 50
    ("lines.revenue = 50", END, {EDGE + 1}),
    ("lines.count = 2 and lines.quantity = 4", END, {EDGE + 1}),
    # an order without lines is in orders, not in lines
    ("orders.distinct(date) = 2 and lines.distinct(date) = 1", END, {EDGE + 1}),
    # empty sets: counts and sums 0, dates and days not set, averages and max not set
    ("lines.count = 0 and lines.revenue = 0 and orders.distinct(product) = 0", END, None),
    ("orders.days_since_last is not set and orders.last_date is not set", END, None),
    ("lines.average is not set and orders.max is not set", END, None),
    # the refund made after the day is not subtracted on it
    ("orders.max = 200", END, {EDGE + 3}),
    ("orders.max = 120", dt.date(2026, 3, 25), {EDGE + 3}),
    ("lines.revenue = 200", dt.date(2026, 3, 25), {EDGE + 3}),  # line revenue: before refunds
    # midnight in the store's zone on the DST day
    ("orders[source = \"web\"].days_since_last = 1 and orders.days_since_last = 0",
     dt.date(2026, 3, 9), {EDGE + 4}),
    ("orders.last_date = 2026-03-08 and orders.first_date = 2026-03-08", dt.date(2026, 3, 8),
     {EDGE + 4}),
    # an order cancelled after the day still counts on it
    ("lines[product = \"Espresso Blend\"].revenue = 45 and orders.distinct(date) = 1",
     dt.date(2025, 11, 2), {EDGE + 5}),
]


@pytest.mark.parametrize(("rule", "day", "expected"), EDGES, ids=[e[0] for e in EDGES])
def test_edges(pg_conn, tmp_path, rule, day, expected):
    query = segment_query(_project({rule: None}, tmp_path), "s0", Evaluation(day, TZ))
    got = {r[0] for r in pg_conn.execute(render(query))}
    edge = {c for c in got if EDGE < c < EDGE + 100}
    if expected is None:  # the customer with no counted order is in, and everybody without one
        model = _model(pg_conn, day)
        assert EDGE + 2 in got
        assert got == {c for c, m in model.items() if not m["orders"]}
    else:
        assert edge == expected


TEMPLATES = {  # the templates using these constructs, with the plain-Python meaning of each
    "due_for_refill": ({"days": 30}, lambda c, d: (lambda v: v is not None and v >= 30)(
        _days_since(d, [o for o in c["orders"] if REFILL in _products(o)]))),
    "product_spenders": ({"amount": 50}, lambda c, d: sum(
        li["revenue"] or 0 for li in c["lines"] if li["product"] == REFILL) >= 50),
    "product_type_explorers": ({"types": 3}, lambda c, d: len(
        {li["product_type"] for li in c["lines"]} - {None}) >= 3),
}


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_templates_agree_with_plain_python(pg_conn, tmp_path, template_id):
    from segflow.templates.library import get

    values, expected = TEMPLATES[template_id]
    text = get(template_id).render(values)
    project = load_sources([parse(text, "t.seg")], tmp_path)
    got = {r[0] for r in pg_conn.execute(render(segment_query(project, template_id,
                                                              Evaluation(END, TZ))))}
    want = {cid for cid, c in _model(pg_conn, END).items() if expected(c, END)}
    assert got == want and 0 < len(want) < len(_model(pg_conn, END))
