"""Bring memberships, metric sums and facts from one day to the next, in set-based SQL.

Two ways to get the state of day `d` (the facts table, each customer's segment-ordinal array,
each segment's metric sums):

- `rebuild`: every customer's facts and every rule, from the orders (the first run, after an
  apply, or when the store tables were truncated);
- `advance`: from the state of an earlier day `p`, recomputing the facts of only the customers
  whose store data changed (the "dirty" ones), re-evaluating every rule for them, and for
  everybody else only the calendar-dependent rules, keeping those whose outcome flips between
  `p` and `d` (see `daysplit`). Metric sums move by the contributions of the customers whose
  membership or facts changed.

Both end with the same `_next(customer_id, old, new)` diff, turned into entered / left events.
`tests/runtime/test_incremental.py` checks that advancing gives exactly what rebuilding gives.
The daily run works on the persisted tables; the backfill on temporary copies of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlglot import exp

from segflow.compiler import incremental as daysplit
from segflow.compiler.incremental import DaySplit
from segflow.compiler.query import DIALECT
from segflow.compiler.tables import refresh_order_index
from segflow.engines.postgres.evaluate import blame, members_select

DAY_FACTS = "_day_facts"  # the facts the rules are evaluated over: persisted + calendar columns


@dataclass(frozen=True)
class Workspace:
    """Where a chain of days keeps its state (table names, schema-qualified or temporary)."""

    facts_table: str
    members_table: str
    totals_table: str
    temporary: bool

    @classmethod
    def persistent(cls) -> Workspace:
        return cls("segflow.customer_facts", "segflow.customer_segments",
                   "segflow.segment_totals", False)

    @classmethod
    def scratch(cls, prefix: str) -> Workspace:
        return cls(f"{prefix}_facts", f"{prefix}_members", f"{prefix}_totals", True)

    @property
    def facts(self) -> sql.Identifier:
        return sql.Identifier(*self.facts_table.split("."))

    @property
    def members(self) -> sql.Identifier:
        return sql.Identifier(*self.members_table.split("."))

    @property
    def totals(self) -> sql.Identifier:
        return sql.Identifier(*self.totals_table.split("."))

    def create(self, conn: psycopg.Connection) -> None:
        """The members and totals tables of a scratch workspace (persistent ones are migrated)."""
        conn.execute(sql.SQL(
            "DROP TABLE IF EXISTS {m}, {t};"
            "CREATE TEMP TABLE {m} (customer_id bigint PRIMARY KEY, segments integer[] NOT NULL);"
            "CREATE TEMP TABLE {t} (LIKE segflow.segment_totals INCLUDING ALL)"
        ).format(m=self.members, t=self.totals))


@dataclass(frozen=True)
class Step:
    mode: str  # "rebuild" | "advance"
    changed: int  # customers whose membership array changed
    recomputed: int  # customers whose facts were recomputed


def _text(tree: exp.Expression) -> str:
    """SQL of a tree built for one statement and then dropped (rendered in place, no copy)."""
    return tree.sql(dialect=DIALECT, copy=False)


WORK_MEM = "128MB"  # per-customer GROUP BYs and hash joins stay in memory (4MB spills to disk)


def _scratch(conn: psycopg.Connection) -> None:
    conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    conn.execute(f"DROP VIEW IF EXISTS {DAY_FACTS}")
    conn.execute("DROP TABLE IF EXISTS _new, _next, _affected, _old_facts")


def _day_facts(conn: psycopg.Connection, ws: Workspace, split: DaySplit,
               customers: exp.Expression | None = None) -> None:
    """`_day_facts`: the persisted facts plus this day's calendar-dependent aggregates."""
    relation = split.day_relation(ws.facts_table, None, customers)
    conn.execute(f"CREATE TEMP VIEW {DAY_FACTS} AS {_text(relation)}")


def _evaluate(conn: psycopg.Connection, split: DaySplit, ordinals: dict[str, int]) -> None:
    """`_new(customer_id, segs)`: the customers of `_day_facts` in at least one segment."""
    select = members_select(split.compiled, ordinals, DAY_FACTS)
    try:
        with conn.transaction():
            conn.execute(f"CREATE TEMP TABLE _new AS SELECT * FROM ({_text(select)}) AS n"
                         " WHERE cardinality(n.segs) > 0")
    except psycopg.Error as exc:
        raise blame(conn, split.compiled, ordinals, exc, DAY_FACTS) from None
    conn.execute("ALTER TABLE _new ADD PRIMARY KEY (customer_id)")


def rebuild(conn: psycopg.Connection, ws: Workspace, split: DaySplit,
            ordinals: dict[str, int]) -> Step:
    """The state of `split`'s day from the orders alone."""
    _scratch(conn)
    kind = sql.SQL("TEMP TABLE" if ws.temporary else "TABLE")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {f} CASCADE").format(f=ws.facts))
    customers = conn.execute(sql.SQL("CREATE {kind} {f} AS ").format(kind=kind, f=ws.facts)
                             + sql.SQL(_text(split.stable_query()))).rowcount
    conn.execute(sql.SQL("ALTER TABLE {f} ADD PRIMARY KEY (customer_id)").format(f=ws.facts))
    conn.execute(sql.SQL("ANALYZE {f}").format(f=ws.facts))
    _day_facts(conn, ws, split)
    _evaluate(conn, split, ordinals)
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _next AS"
        " SELECT coalesce(o.customer_id, n.customer_id) AS customer_id,"
        "        coalesce(o.segments, '{{}}') AS old, coalesce(n.segs, '{{}}') AS new"
        " FROM {m} AS o FULL JOIN _new AS n ON n.customer_id = o.customer_id"
        " WHERE o.segments IS DISTINCT FROM n.segs"
    ).format(m=ws.members))
    changed = _apply_next(conn, ws)
    conn.execute(sql.SQL("DELETE FROM {t}").format(t=ws.totals))
    conn.execute(sql.SQL(
        "INSERT INTO {t} (ordinal, members, repeaters, spent, orders, aov_sum, aov_n,"
        "                 interval_sum, interval_n)"
        " SELECT o.ordinal, count(f.customer_id), count(*) FILTER (WHERE f.order_count >= 2),"
        "        coalesce(sum(f.total_spent), 0), coalesce(sum(f.order_count), 0),"
        "        coalesce(sum(f.average_order_value), 0), count(f.average_order_value),"
        "        coalesce(sum(f.purchase_interval), 0), count(f.purchase_interval)"
        " FROM unnest(%(ords)s::int[]) AS o(ordinal)"
        " LEFT JOIN (SELECT x, m.customer_id FROM {m} AS m, unnest(m.segments) AS x) AS m"
        "   ON m.x = o.ordinal"
        " LEFT JOIN {f} AS f ON f.customer_id = m.customer_id"
        " GROUP BY o.ordinal"
    ).format(t=ws.totals, m=ws.members, f=ws.facts), {"ords": sorted(ordinals.values())})
    return Step("rebuild", changed, customers)


def advance(conn: psycopg.Connection, ws: Workspace, split: DaySplit, previous: DaySplit,
            ordinals: dict[str, int], find_dirty: Callable[[psycopg.Connection], None]) -> Step:
    """From the state of `previous`'s day to `split`'s day (not earlier).

    `find_dirty` fills `_dirty(customer_id)` (ON CONFLICT DO NOTHING) with the customers whose
    store data changed since `previous`'s state, including everybody with an order placed or a
    customer row created in between.
    """
    _scratch(conn)
    conn.execute(sql.SQL(
        "DROP TABLE IF EXISTS _dirty;"
        "CREATE TEMP TABLE _dirty (customer_id bigint PRIMARY KEY);"
    ))
    find_dirty(conn)
    recomputed = conn.execute("SELECT count(*) FROM _dirty").fetchone()[0]
    conn.execute("ANALYZE _dirty")
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _old_facts AS"
        " SELECT customer_id, order_count, total_spent, average_order_value, purchase_interval"
        " FROM {f} WHERE customer_id IN (SELECT customer_id FROM _dirty);"
        "DELETE FROM {f} WHERE customer_id IN (SELECT customer_id FROM _dirty)"
    ).format(f=ws.facts))
    dirty_ids = exp.select("customer_id").from_("_dirty")
    conn.execute(sql.SQL("INSERT INTO {f} ").format(f=ws.facts)
                 + sql.SQL(_text(split.stable_query(dirty_ids))))
    calendar = split.evaluation.as_of != previous.evaluation.as_of
    conn.execute("CREATE TEMP TABLE _affected (customer_id bigint PRIMARY KEY, dirty boolean)")
    conn.execute("INSERT INTO _affected SELECT customer_id, true FROM _dirty")
    moving = [sid for sid in sorted(split.moving_segments) if sid in ordinals]
    if calendar and moving:
        _find_flips(conn, ws, split, previous, moving, ordinals, dirty_ids)
    conn.execute("ANALYZE _affected")
    affected = exp.select("customer_id").from_("_affected")
    _day_facts(conn, ws, split, affected)
    _evaluate(conn, split, ordinals)
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _next AS"
        " SELECT a.customer_id, coalesce(o.segments, '{{}}') AS old,"
        "        coalesce(n.segs, '{{}}') AS new"
        " FROM _affected AS a LEFT JOIN {m} AS o ON o.customer_id = a.customer_id"
        " LEFT JOIN _new AS n ON n.customer_id = a.customer_id"
        " WHERE o.segments IS DISTINCT FROM n.segs"
    ).format(m=ws.members))
    conn.execute("ANALYZE _next")
    _move_totals(conn, ws)
    changed = _apply_next(conn, ws)
    return Step("advance", changed, recomputed)


def _differs(current: DaySplit, previous: DaySplit, segment_ids: list[str]) -> exp.Expression:
    """True where some segment's outcome differs between the two days."""
    return exp.or_(*(
        exp.not_(exp.paren(exp.NullSafeEQ(
            this=exp.paren(current.predicate(sid).copy(), copy=False),
            expression=exp.paren(previous.previous_predicate(sid), copy=False)), copy=False),
            copy=False)
        for sid in segment_ids
    ), copy=False)


def _find_flips(conn: psycopg.Connection, ws: Workspace, split: DaySplit, previous: DaySplit,
                moving: list[str], ordinals: dict[str, int], dirty_ids: exp.Select) -> None:
    """Add to `_affected` the customers whose calendar-dependent segments may have flipped."""
    clean = exp.column("customer_id", "f").isin(query=dirty_ids.copy()).not_()
    cheap = daysplit.flips(split, previous, moving)
    scans: list[exp.Select] = []
    if cheap is None:  # compare every customer's outcomes, moving aggregates of both days
        relation = exp.Subquery(this=split.day_relation(ws.facts_table, previous),
                                alias=exp.TableAlias(this=exp.to_identifier("f")))
        scans.append(exp.select(exp.column("customer_id", "f")).from_(relation)
                     .where(clean).where(_differs(split, previous, moving)))
    else:
        if cheap.windows:
            placed = exp.column("placed_at", "f")
            scans.append(
                exp.select(exp.column("customer_id", "f")).distinct()
                .from_(exp.to_table("store.orders").as_("f"))
                .where(exp.column("customer_id", "f").is_(exp.null()).not_()).where(clean)
                .where(exp.or_(*(exp.and_(placed >= lo, placed < hi, copy=False)
                                 for lo, hi in cheap.windows), copy=False)))
        if cheap.segments:
            scans.append(exp.select(exp.column("customer_id", "f"))
                         .from_(exp.to_table(ws.facts_table).as_("f"))
                         .where(clean).where(_differs(split, previous, cheap.segments)))
    for scan in scans:
        try:
            with conn.transaction():
                conn.execute(f"INSERT INTO _affected SELECT customer_id, false FROM"
                             f" ({_text(scan)}) AS s ON CONFLICT DO NOTHING")
        except psycopg.Error as exc:
            _day_facts(conn, ws, split)
            raise blame(conn, split.compiled, ordinals, exc, DAY_FACTS) from None


def changed_between(previous: DaySplit, current: DaySplit, *, written: bool
                    ) -> Callable[[psycopg.Connection], None]:
    """Fills `_dirty` for `advance`: customers with an order placed or cancelled, a refund
    made, or a customer row created after `previous`'s day up to the end of `current`'s (each is
    an event on a day); with `written`, also the customers the store triggers recorded since the
    last run (consumed: the run's transaction owns them)."""
    ev = current.evaluation
    since = ev.day_start(previous.evaluation.as_of + dt.timedelta(days=1))
    until = ev.day_start(ev.as_of + dt.timedelta(days=1))
    consumed = ("WITH consumed AS (DELETE FROM segflow.dirty_customers RETURNING customer_id)"
                " INSERT INTO _dirty SELECT customer_id FROM consumed UNION"
                if written else "INSERT INTO _dirty")

    def fill(conn: psycopg.Connection) -> None:
        if written:
            refresh_written_positions(conn)
        conn.execute(
            consumed + " SELECT customer_id FROM store.orders"
            "  WHERE placed_at >= %(since)s AND placed_at < %(until)s AND customer_id IS NOT NULL"
            " UNION SELECT customer_id FROM store.orders"
            "  WHERE cancelled_at >= %(since)s AND cancelled_at < %(until)s"
            "  AND customer_id IS NOT NULL"
            " UNION SELECT o.customer_id FROM store.refunds AS r"
            "  JOIN store.orders AS o ON o.order_id = r.order_id"
            "  WHERE r.created_at >= %(since)s AND r.created_at < %(until)s"
            "  AND o.customer_id IS NOT NULL"
            " UNION SELECT customer_id FROM store.customers"
            "  WHERE created_at >= %(since)s AND created_at < %(until)s"
            " ON CONFLICT DO NOTHING", {"since": since, "until": until})

    return fill


def refresh_written_positions(conn: psycopg.Connection) -> None:
    """Bring the stored `customer_order_index` (read by analytics and template thresholds, never
    by rules) up to date for the customers the triggers recorded: orders written by the user's
    own SQL have none. Run by an incremental run before those customers are consumed (its own
    trigger records them again, and the run consumes them with the rest); a rebuild skips it (its
    dirty customers are typically every customer a loader just wrote, index included)."""
    if conn.execute("SELECT EXISTS (SELECT FROM segflow.dirty_customers)").fetchone()[0]:
        scope = exp.select("customer_id").distinct().from_("segflow.dirty_customers")
        conn.execute(_text(refresh_order_index(scope)))


_CONTRIBUTION = (
    "sum(s), coalesce(sum(s) FILTER (WHERE order_count >= 2), 0),"
    " coalesce(sum(s * total_spent), 0), coalesce(sum(s * order_count), 0),"
    " coalesce(sum(s * average_order_value), 0),"
    " coalesce(sum(s) FILTER (WHERE average_order_value IS NOT NULL), 0),"
    " coalesce(sum(s * purchase_interval), 0),"
    " coalesce(sum(s) FILTER (WHERE purchase_interval IS NOT NULL), 0)"
)
_VALUES = "v.order_count, v.total_spent, v.average_order_value, v.purchase_interval"


def _move_totals(conn: psycopg.Connection, ws: Workspace) -> None:
    """Metric sums: minus the affected customers' old contributions, plus their new ones.

    A customer whose facts changed (dirty) moves every segment they were or are in; any other
    only the segments they entered or left (their facts, so their contributions, are the same).
    Runs before `_apply_next`, while the members table still holds the old arrays.
    """
    conn.execute(sql.SQL(
        "INSERT INTO {t} AS t (ordinal, members, repeaters, spent, orders, aov_sum, aov_n,"
        "                      interval_sum, interval_n)"
        " SELECT x, " + _CONTRIBUTION + " FROM ("
        "   SELECT -1 AS s, x, " + _VALUES +
        "   FROM _affected AS a JOIN {m} AS m ON m.customer_id = a.customer_id"
        "   JOIN _old_facts AS v ON v.customer_id = a.customer_id, unnest(m.segments) AS x"
        "   WHERE a.dirty"
        "   UNION ALL"
        "   SELECT 1, x, " + _VALUES +
        "   FROM _affected AS a JOIN _new AS n ON n.customer_id = a.customer_id"
        "   JOIN {f} AS v ON v.customer_id = a.customer_id, unnest(n.segs) AS x"
        "   WHERE a.dirty"
        "   UNION ALL"
        "   SELECT -1, x, " + _VALUES +
        "   FROM _next AS n JOIN _affected AS a ON a.customer_id = n.customer_id"
        "   JOIN {f} AS v ON v.customer_id = n.customer_id, unnest(n.old) AS x"
        "   WHERE NOT a.dirty AND NOT x = ANY(n.new)"
        "   UNION ALL"
        "   SELECT 1, x, " + _VALUES +
        "   FROM _next AS n JOIN _affected AS a ON a.customer_id = n.customer_id"
        "   JOIN {f} AS v ON v.customer_id = n.customer_id, unnest(n.new) AS x"
        "   WHERE NOT a.dirty AND NOT x = ANY(n.old)"
        " ) AS d"
        " GROUP BY x"
        " ON CONFLICT (ordinal) DO UPDATE SET"
        "   members = t.members + EXCLUDED.members, repeaters = t.repeaters + EXCLUDED.repeaters,"
        "   spent = t.spent + EXCLUDED.spent, orders = t.orders + EXCLUDED.orders,"
        "   aov_sum = t.aov_sum + EXCLUDED.aov_sum, aov_n = t.aov_n + EXCLUDED.aov_n,"
        "   interval_sum = t.interval_sum + EXCLUDED.interval_sum,"
        "   interval_n = t.interval_n + EXCLUDED.interval_n"
    ).format(t=ws.totals, m=ws.members, f=ws.facts))


def _apply_next(conn: psycopg.Connection, ws: Workspace) -> int:
    """Make the members table match `_next`; returns how many customers changed."""
    conn.execute(sql.SQL(
        "DELETE FROM {m} AS c USING _next AS n"
        " WHERE c.customer_id = n.customer_id AND cardinality(n.new) = 0;"
        "INSERT INTO {m} (customer_id, segments)"
        " SELECT customer_id, new FROM _next WHERE cardinality(new) > 0"
        " ON CONFLICT (customer_id) DO UPDATE SET segments = EXCLUDED.segments"
    ).format(m=ws.members))
    return conn.execute("SELECT count(*) FROM _next").fetchone()[0]


def record_events(conn: psycopg.Connection, day: dt.date, *, backfilled: bool = False,
                  only: list[int] | None = None) -> tuple[int, int]:
    """Entered / left events of `_next` for `day` (`only`: just these ordinals)."""
    keep = "" if only is None else " AND x = ANY(%(only)s)"
    row = conn.execute(
        "WITH written AS ("
        " INSERT INTO segflow.membership_events"
        "  (day, segment_ord, customer_id, entered, backfilled)"
        " SELECT %(day)s, x, customer_id, true, %(b)s FROM _next, unnest(new) AS x"
        " WHERE NOT x = ANY(old)" + keep +
        " UNION ALL"
        " SELECT %(day)s, x, customer_id, false, %(b)s FROM _next, unnest(old) AS x"
        " WHERE NOT x = ANY(new)" + keep +
        " RETURNING entered)"
        " SELECT count(*) FILTER (WHERE entered), count(*) FILTER (WHERE NOT entered)"
        " FROM written",
        {"day": day, "b": backfilled, "only": only}).fetchone()
    return row[0], row[1]


_METRICS = """
INSERT INTO segflow.daily_metrics AS d (
    day, segment_id, customer_count, repeat_customer_rate, lifetime_value,
    average_order_value, average_order_count, purchase_interval_days, backfilled)
SELECT %(day)s, s.segment_id, t.members,
       t.repeaters::numeric / nullif(t.members, 0),
       t.spent / nullif(t.members, 0),
       t.aov_sum / nullif(t.aov_n, 0),
       t.orders / nullif(t.members, 0),
       t.interval_sum / nullif(t.interval_n, 0),
       %(backfilled)s
FROM {totals} AS t JOIN segflow.segments AS s ON s.ordinal = t.ordinal
WHERE t.ordinal = ANY(%(ordinals)s)
ON CONFLICT (segment_id, day) DO {conflict}
"""

METRIC_COLUMNS = ("customer_count", "repeat_customer_rate", "lifetime_value",
                  "average_order_value", "average_order_count", "purchase_interval_days",
                  "backfilled")


def on_conflict(columns: tuple[str, ...], mode: str) -> sql.Composable:
    """`keep`: leave an existing row; `refresh`: update it if a value differs; `overwrite`."""
    if mode == "keep":
        return sql.SQL("NOTHING")
    sets = sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                              for c in columns)
    update = sql.SQL("UPDATE SET ") + sets
    if mode == "refresh":
        old = sql.SQL(", ").join(sql.SQL("d.{c}").format(c=sql.Identifier(c)) for c in columns)
        new = sql.SQL(", ").join(sql.SQL("EXCLUDED.{c}").format(c=sql.Identifier(c))
                                 for c in columns)
        update += sql.SQL(" WHERE ({old}) IS DISTINCT FROM ({new})").format(old=old, new=new)
    return update


def record_metrics(conn: psycopg.Connection, ws: Workspace, day: dt.date, ordinals: list[int],
                   *, backfilled: bool = False, mode: str = "refresh") -> int:
    """The six metrics of `day` from the workspace's sums; returns the rows written."""
    query = sql.SQL(_METRICS).format(totals=ws.totals,
                                     conflict=on_conflict(METRIC_COLUMNS, mode))
    return conn.execute(query, {"day": day, "ordinals": ordinals,
                                "backfilled": backfilled}).rowcount


_ACTIVITY = """
INSERT INTO segflow.daily_activity AS d (day, segment_id, orders, revenue, backfilled)
SELECT %(day)s, s.segment_id, coalesce(sum(a.n), 0), coalesce(sum(a.revenue), 0), %(backfilled)s
FROM segflow.segments AS s
LEFT JOIN (
    SELECT x AS ordinal, a.n, a.revenue
    FROM (
        SELECT o.customer_id, count(*) AS n, sum(o.net_amount) AS revenue
        FROM store.orders AS o
        WHERE o.customer_id IS NOT NULL AND o.cancelled_at IS NULL AND NOT o.is_test
          AND o.placed_at >= %(start)s AND o.placed_at < %(end)s
        GROUP BY o.customer_id
    ) AS a
    JOIN {members} AS m ON m.customer_id = a.customer_id, unnest(m.segments) AS x
) AS a ON a.ordinal = s.ordinal
WHERE s.ordinal = ANY(%(ordinals)s)
GROUP BY s.segment_id
ON CONFLICT (segment_id, day) DO {conflict}
"""


def record_activity(conn: psycopg.Connection, ws: Workspace, split: DaySplit,
                    ordinals: list[int], *, backfilled: bool = False,
                    mode: str = "refresh") -> int:
    """Orders and revenue of the day from each segment's members (members as of the end of the
    day; the orders placed that day as they stand when recorded, as the revenue report reads
    them: cancelled ones left out, every refund known subtracted)."""
    ev = split.evaluation
    query = sql.SQL(_ACTIVITY).format(
        members=ws.members,
        conflict=on_conflict(("orders", "revenue", "backfilled"), mode))
    return conn.execute(query, {
        "day": ev.as_of, "ordinals": ordinals, "backfilled": backfilled,
        "start": ev.day_start(ev.as_of), "end": ev.day_start(ev.as_of + dt.timedelta(days=1)),
    }).rowcount
