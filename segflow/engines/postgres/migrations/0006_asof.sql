-- The truth as of a day: dated refunds, and what finds the customers a day's cancellations and
-- refunds change.

-- Refunds with the instant they were made, where the source has it (the Admin API's
-- `Order.refunds { createdAt totalRefundedSet }`, the generator). `store.orders.refunded_amount`
-- stays the order's whole refunded amount today; a refund listed here is subtracted only from
-- the day it was made (evaluating an earlier day adds it back), the rest of `refunded_amount`
-- (a CSV export has no refund dates) from the day the order was placed. A fresh store has it
-- already from the canonical tables (migration 1).
CREATE TABLE IF NOT EXISTS store.refunds (
    order_id   bigint        NOT NULL,
    refund_id  bigint        NOT NULL,
    created_at timestamptz   NOT NULL,
    amount     numeric(14,2) NOT NULL,
    PRIMARY KEY (order_id, refund_id)
);
CREATE INDEX IF NOT EXISTS refunds_created_idx ON store.refunds (created_at);

-- The daily run and the backfill look up the orders cancelled on a day.
CREATE INDEX orders_cancelled_idx ON store.orders (cancelled_at) WHERE cancelled_at IS NOT NULL;

CREATE FUNCTION segflow.mark_dirty_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO segflow.dirty_customers
    SELECT DISTINCT o.customer_id FROM changed AS c JOIN store.orders AS o USING (order_id)
    WHERE o.customer_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER refunds_inserted AFTER INSERT ON store.refunds
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_refunds();
CREATE TRIGGER refunds_updated_new AFTER UPDATE ON store.refunds
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_refunds();
CREATE TRIGGER refunds_updated_old AFTER UPDATE ON store.refunds
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_refunds();
CREATE TRIGGER refunds_deleted AFTER DELETE ON store.refunds
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_dirty_refunds();
CREATE TRIGGER refunds_truncated AFTER TRUNCATE ON store.refunds
    FOR EACH STATEMENT EXECUTE FUNCTION segflow.mark_facts_invalid();
