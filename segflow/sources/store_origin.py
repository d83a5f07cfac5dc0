"""Whose data the store tables hold: segflow's generator's, or someone else's.

`seg generate` and `seg demo` replace the store tables with a generated store. They may do so
only when the tables are empty or still hold exactly what a generation left there (its row
counts and id sums, recorded in `segflow.generated_store` in the same transaction as the load);
anything else — a CSV or API import, rows written by hand — is replaced only when the user
says so (`--replace`, `--reset`). One check, shared by both commands.
"""

from __future__ import annotations

import psycopg

from segflow.errors import SegflowError

LEGACY_DEMO_MARK = "segflow demo store"  # the schema comment older `seg demo` runs left

_FOOTPRINT = """
SELECT (SELECT count(*) FROM store.customers), (SELECT coalesce(sum(customer_id), 0)
                                                 FROM store.customers),
       (SELECT count(*) FROM store.orders), (SELECT coalesce(sum(order_id), 0) FROM store.orders),
       (SELECT count(*) FROM store.order_lines)
"""


def _footprint(conn: psycopg.Connection) -> tuple:
    row = conn.execute(_FOOTPRINT).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()
    return bool(row and row[0])


def holds_foreign_data(conn: psycopg.Connection) -> tuple[int, int] | None:
    """(customers, orders) when the store holds data segflow's generator did not leave there."""
    if not all(_exists(conn, t) for t in ("store.customers", "store.orders", "store.order_lines")):
        return None
    found = _footprint(conn)
    if found[0] == 0 and found[2] == 0:
        return None
    if _exists(conn, "segflow.generated_store"):
        mark = conn.execute("SELECT customers, customer_ids, orders, order_ids, order_lines"
                            " FROM segflow.generated_store").fetchone()
        if mark and tuple(int(v) for v in mark) == found:
            return None
    comment = conn.execute(
        "SELECT obj_description(to_regnamespace('store'), 'pg_namespace')").fetchone()
    if comment and comment[0] == LEGACY_DEMO_MARK:
        return None
    return found[0], found[2]


def check_replaceable(conn: psycopg.Connection, *, command: str, force_flag: str,
                      where: str) -> None:
    """Refuse to replace store data that segflow did not generate (one clear message)."""
    foreign = holds_foreign_data(conn)
    if foreign is None:
        return
    customers, orders = foreign
    raise SegflowError(
        f"the store in {where} holds data that segflow did not generate ({customers:,} "
        f"customers, {orders:,} orders: imported, or written since the last generation); "
        f"`{command}` would replace it. `{command} {force_flag}` replaces it (all of it)")


def mark_generated(conn: psycopg.Connection, generated_by: str) -> None:
    """Record what a generation just loaded (call in the transaction of the load)."""
    customers, customer_ids, orders, order_ids, lines = _footprint(conn)
    conn.execute(
        "INSERT INTO segflow.generated_store (generated_by, customers, customer_ids, orders,"
        " order_ids, order_lines) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (singleton) DO UPDATE SET generated_by = EXCLUDED.generated_by,"
        " customers = EXCLUDED.customers, customer_ids = EXCLUDED.customer_ids,"
        " orders = EXCLUDED.orders, order_ids = EXCLUDED.order_ids,"
        " order_lines = EXCLUDED.order_lines, generated_at = now()",
        (generated_by, customers, customer_ids, orders, order_ids, lines))
