"""Template defaults derived from the store's own data.

Each deriver is one static SQL query over the canonical tables (no user value is ever pasted
into it) reading only counted orders (attached to a customer, not cancelled, not a test). A
deriver returns None when the store has nothing to say (no orders, no discount codes, ...); the
template's fixed default applies then, as it does when no database is reachable.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import psycopg

from segflow.config import Config

CONNECT_TIMEOUT = 3  # seconds: deriving defaults must never hang a command

COUNTED = "o.customer_id IS NOT NULL AND o.cancelled_at IS NULL AND NOT o.is_test"


def round_half_up(value: float | Decimal) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _top(column: str, *, extra: str = "") -> str:
    """The most frequent non-empty value of an orders column (ties: the smallest value)."""
    return f"""
        SELECT o.{column} AS v FROM store.orders AS o
        WHERE {COUNTED} AND o.{column} IS NOT NULL AND o.{column} <> '' {extra}
        GROUP BY o.{column} ORDER BY count(*) DESC, o.{column} LIMIT 1"""


def _top_array(column: str) -> str:
    """The most frequent element of an array column of orders."""
    return f"""
        SELECT t.v FROM store.orders AS o CROSS JOIN LATERAL unnest(o.{column}) AS t(v)
        WHERE {COUNTED} AND t.v <> ''
        GROUP BY t.v ORDER BY count(*) DESC, t.v LIMIT 1"""


def _top_product(where: str = "") -> str:
    """The product on the most counted orders (ties: the smallest title)."""
    return f"""
        SELECT l.product FROM store.orders AS o JOIN store.order_lines AS l USING (order_id)
        WHERE {COUNTED} AND l.product IS NOT NULL AND l.product <> '' {where}
        GROUP BY l.product ORDER BY count(DISTINCT o.order_id) DESC, l.product LIMIT 1"""


@dataclass(frozen=True)
class Deriver:
    name: str
    doc: str
    sql: str
    convert: Callable[[Any], Any] = lambda v: v


def _twice(value: Any) -> int:
    return max(2, round_half_up(2 * Decimal(str(value))))


def _whole(value: Any) -> Decimal:
    return Decimal(max(1, round_half_up(value)))


def _days(value: Any) -> int:
    return max(1, round_half_up(value))


DERIVERS: dict[str, Deriver] = {d.name: d for d in (
    Deriver("twice_average_order_count",
            "twice the average order count of customers who ordered, rounded (at least 2)",
            f"""SELECT avg(n) FROM (SELECT count(*) AS n FROM store.orders AS o WHERE {COUNTED}
                GROUP BY o.customer_id) AS per_customer""", _twice),
    Deriver("top_product", "the product on the most orders", _top_product()),
    Deriver("top_first_product", "the product most often bought on a first order",
            _top_product("AND o.customer_order_index = 1")),
    Deriver("top_repeat_product", "the product most often bought on later orders (2nd onwards)",
            _top_product("AND o.customer_order_index > 1")),
    Deriver("newest_product", "the product whose first sale is the most recent",
            f"""SELECT l.product FROM store.orders AS o JOIN store.order_lines AS l USING (order_id)
                WHERE {COUNTED} AND l.product IS NOT NULL AND l.product <> ''
                GROUP BY l.product ORDER BY min(o.placed_at) DESC, l.product LIMIT 1"""),
    Deriver("top_utm_source", "the most common UTM source of orders", _top("utm_source")),
    Deriver("top_first_utm_source", "the most common UTM source of first orders",
            _top("utm_source", extra="AND o.customer_order_index = 1")),
    Deriver("top_utm_campaign", "the most common UTM campaign of orders", _top("utm_campaign")),
    Deriver("top_source", "the most common order source", _top("source")),
    Deriver("top_channel", "the most common sales channel", _top("channel")),
    Deriver("top_discount_code", "the most used discount code", _top_array("discount_codes")),
    Deriver("top_order_tag", "the most common order tag", _top_array("tags")),
    Deriver("top_customer_tag", "the most common customer tag",
            """SELECT t.v FROM store.customers AS c CROSS JOIN LATERAL unnest(c.tags) AS t(v)
               WHERE t.v <> '' GROUP BY t.v ORDER BY count(*) DESC, t.v LIMIT 1"""),
    Deriver("top_province", "the most common province / state code of customers",
            """SELECT c.province_code FROM store.customers AS c
               WHERE c.province_code IS NOT NULL AND c.province_code <> ''
               GROUP BY c.province_code ORDER BY count(*) DESC, c.province_code LIMIT 1"""),
    Deriver("top_country", "the most common country code of customers",
            """SELECT c.country_code FROM store.customers AS c
               WHERE c.country_code IS NOT NULL AND c.country_code <> ''
               GROUP BY c.country_code ORDER BY count(*) DESC, c.country_code LIMIT 1"""),
    Deriver("median_days_between_orders",
            "the median number of days between a customer's consecutive orders, rounded",
            f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) FROM (
                  SELECT extract(epoch FROM o.placed_at - lag(o.placed_at) OVER (
                           PARTITION BY o.customer_id ORDER BY o.placed_at, o.order_id)) / 86400
                         AS gap
                  FROM store.orders AS o WHERE {COUNTED}) AS gaps
                WHERE gap IS NOT NULL""", _days),
    Deriver("p75_order_total", "the 75th percentile of order amounts, rounded",
            f"""SELECT percentile_cont(0.75) WITHIN GROUP (ORDER BY o.net_amount)
                FROM store.orders AS o WHERE {COUNTED}""", _whole),
    Deriver("p90_total_spent",
            "the 90th percentile of total spent by customers who ordered, rounded",
            f"""SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY spent) FROM (
                  SELECT sum(o.net_amount) AS spent FROM store.orders AS o WHERE {COUNTED}
                  GROUP BY o.customer_id) AS per_customer""", _whole),
)}


def derive(conn: psycopg.Connection, names: Iterable[str]) -> dict[str, Any]:
    """The store-derived value of each named deriver (None: the store has no answer)."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        d = DERIVERS[name]
        row = conn.execute(d.sql).fetchone()  # type: ignore[arg-type]
        value = row[0] if row else None
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[name] = None if value is None else d.convert(value)
    return out


@dataclass(frozen=True)
class StoreDefaults:
    values: dict[str, Any]  # deriver -> value (only those the store answered)
    note: str | None  # why the store was not used, when it was not


def _store_url(config: Config) -> tuple[str | None, str | None]:
    """The database to read, without creating one: (url, None) or (None, why not)."""
    url = config.database_url()
    if url:
        return url, None
    from segflow.engines.postgres.pgserver import project_cluster

    try:
        cluster = project_cluster(config.root)
        if not cluster.initialized():
            return None, "no database configured and no embedded cluster yet"
        cluster.start()  # it exists: starting it is what every other command does
        return cluster.url(), None
    except Exception as exc:  # the embedded cluster is optional here
        return None, f"the embedded cluster is not usable ({str(exc).splitlines()[0]})"


def store_defaults(config: Config | None, names: Iterable[str]) -> StoreDefaults:
    """Derived defaults from the project's database; empty, with a note, when unavailable."""
    names = [n for n in dict.fromkeys(names) if n]
    if not names:
        return StoreDefaults({}, None)
    if config is None:
        return StoreDefaults({}, "offline: not reading the store")
    url, why = _store_url(config)
    if url is None:
        return StoreDefaults({}, why)
    from segflow.engines.postgres.db import redact

    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True,
                             application_name="segflow-templates") as conn:
            with contextlib.suppress(psycopg.Error):
                conn.execute("SET statement_timeout = '30s'")
            row = conn.execute("SELECT to_regclass('store.orders') IS NOT NULL").fetchone()
            if not row or not row[0]:
                return StoreDefaults({}, f"the database {redact(url)} has no store data yet")
            values = derive(conn, names)
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or ["failed"])[-1]
        password = urlsplit(url).password
        if password:
            reason = reason.replace(password, "***")
        return StoreDefaults({}, f"cannot read the database {redact(url)}: {reason}")
    found = {k: v for k, v in values.items() if v is not None}
    note = None if found or not values else "the store has no orders to derive defaults from"
    return StoreDefaults(found, note)


@dataclass(frozen=True)
class Resolved:
    value: Any
    source: str  # "store" (derived from the store's data) or "fixed" (the template's default)
    derive: str | None = None


def resolve_defaults(template, config: Config | None) -> tuple[dict[str, Resolved], str | None]:
    """Each parameter's default for `template`: from the store where it derives one, else fixed.

    `config=None` means offline (fixed defaults only). Returns the defaults and a note saying
    why the store was not used, when it was not.
    """
    wanted = [p.derive for p in template.params.values() if p.derive]
    store = store_defaults(config, wanted)
    out: dict[str, Resolved] = {}
    for name, p in template.params.items():
        if p.derive and p.derive in store.values:
            try:
                out[name] = Resolved(p.check(store.values[p.derive]), "store", p.derive)
                continue
            except Exception:  # a store value outside the parameter's bounds: keep the fixed one
                pass
        out[name] = Resolved(p.default, "fixed", p.derive)
    return out, store.note
