-- What `seg generate` / `seg demo` loaded into the store tables (one row, replaced by each
-- generation): the row counts and id sums it left. While the store still holds exactly those
-- rows, generating again may replace them; data from anywhere else is never replaced without
-- `--replace` (segflow/sources/store_origin.py).
CREATE TABLE segflow.generated_store (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generated_by  text        NOT NULL,         -- seg generate | seg demo
    customers     bigint      NOT NULL,
    customer_ids  numeric     NOT NULL,         -- sum of the customer ids
    orders        bigint      NOT NULL,
    order_ids     numeric     NOT NULL,         -- sum of the order ids
    order_lines   bigint      NOT NULL,
    generated_at  timestamptz NOT NULL DEFAULT now()
);

-- The key saved plans are signed with (HMAC-SHA256): `seg apply plan.json` applies a plan only
-- if it is exactly what `seg plan` wrote against this database (segflow/lifecycle/plan_file.py).
-- 244 random bits from two version-4 UUIDs (gen_random_uuid, PostgreSQL's strong random source).
CREATE TABLE segflow.plan_key (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key        text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO segflow.plan_key (key)
SELECT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
