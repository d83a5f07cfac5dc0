-- Incremental daily runs: which customers' store data changed since the last run, the state of
-- the persisted per-customer facts, and each segment's running sums for the six metrics.

-- Customers whose orders, order lines or customer row were written since the last run. Filled
-- by statement-level triggers on the store tables (every loader goes through them: CSV import,
-- API import, the generator, hand-written SQL); consumed by the run in its transaction.
CREATE TABLE segflow.dirty_customers (
    customer_id bigint NOT NULL
);

-- The persisted facts table (segflow.customer_facts, created by the run because its columns
-- follow the applied rules): which rules it was built for and as of which day. `valid` is
-- cleared by anything that makes incremental maintenance unsafe (TRUNCATE of a store table,
-- an apply); the next run then rebuilds it whole.
CREATE TABLE segflow.facts_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    signature text,
    as_of     date,
    valid     boolean NOT NULL DEFAULT false
);
INSERT INTO segflow.facts_state DEFAULT VALUES;

-- Per segment, the sums the six metrics are ratios of, over its current members (kept by the
-- run with deltas of the customers that changed, so a day costs what changed, not every member).
CREATE TABLE segflow.segment_totals (
    ordinal      integer PRIMARY KEY,
    members      bigint  NOT NULL DEFAULT 0,
    repeaters    bigint  NOT NULL DEFAULT 0,   -- members with 2+ orders
    spent        numeric NOT NULL DEFAULT 0,   -- sum of total_spent
    orders       numeric NOT NULL DEFAULT 0,   -- sum of order_count
    aov_sum      numeric NOT NULL DEFAULT 0,   -- sum of average_order_value (where defined)
    aov_n        bigint  NOT NULL DEFAULT 0,
    interval_sum numeric NOT NULL DEFAULT 0,   -- sum of purchase_interval (where defined)
    interval_n   bigint  NOT NULL DEFAULT 0
);

CREATE FUNCTION segflow.mark_dirty_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'order_lines' THEN
        INSERT INTO segflow.dirty_customers
        SELECT DISTINCT o.customer_id FROM changed AS c JOIN store.orders AS o USING (order_id)
        WHERE o.customer_id IS NOT NULL;
    ELSE
        INSERT INTO segflow.dirty_customers
        SELECT DISTINCT customer_id FROM changed WHERE customer_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION segflow.mark_facts_invalid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE segflow.facts_state SET valid = false;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_inserted AFTER INSERT ON store.orders
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER orders_updated_new AFTER UPDATE ON store.orders
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER orders_updated_old AFTER UPDATE ON store.orders
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER orders_deleted AFTER DELETE ON store.orders
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER orders_truncated AFTER TRUNCATE ON store.orders
    FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_facts_invalid();

CREATE TRIGGER lines_inserted AFTER INSERT ON store.order_lines
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER lines_updated AFTER UPDATE ON store.order_lines
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER lines_deleted AFTER DELETE ON store.order_lines
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER lines_truncated AFTER TRUNCATE ON store.order_lines
    FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_facts_invalid();

CREATE TRIGGER customers_inserted AFTER INSERT ON store.customers
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER customers_updated AFTER UPDATE ON store.customers
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER customers_deleted AFTER DELETE ON store.customers
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_new();
CREATE TRIGGER customers_truncated AFTER TRUNCATE ON store.customers
    FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_facts_invalid();

-- Static lists are part of what the rules read.
CREATE TRIGGER lists_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON store.list_members
    FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_facts_invalid();
