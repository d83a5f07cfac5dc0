-- Shopify customer-tag sync: what segflow owns, what it still has to send, one-off actions.

-- The tags segflow put (or is putting) on each customer: the only tags it may ever remove.
-- A row is written in the same transaction as the outbox operation that adds the tag, and
-- deleted with the one that removes it, so this ledger and the outbox never disagree.
CREATE TABLE segflow.applied_tags (
    customer_id bigint      NOT NULL,
    tag         text        NOT NULL,
    segment_id  text,                     -- the segment the tag was added for (NULL: one-off)
    action_id   bigint,                   -- the one-off action that added it, if any
    added_at    timestamptz NOT NULL DEFAULT now()
);
-- Shopify's tags are case-insensitive: "VIP" and "vip" are one tag.
CREATE UNIQUE INDEX applied_tags_key ON segflow.applied_tags (customer_id, lower(tag));

-- One-off tag actions (`seg tags assign` / `seg tags remove`), for `seg tags history`.
CREATE TABLE segflow.tag_actions (
    action_id   bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('assign', 'remove')),
    tag         text        NOT NULL,
    segment_id  text,
    customers   integer     NOT NULL DEFAULT 0,   -- customers targeted
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Operations to send to Shopify. pending -> sent (in flight: claimed by a sync, maybe
-- delivered) -> done | failed; a pending add overtaken by a remove before it was sent is
-- cancelled instead. A crashed sync leaves `sent` rows, which the next sync sends again
-- (tagsAdd / tagsRemove are idempotent).
CREATE TABLE segflow.tag_outbox (
    op_id       bigserial   PRIMARY KEY,
    customer_id bigint      NOT NULL,
    tag         text        NOT NULL,
    op          text        NOT NULL CHECK (op IN ('add', 'remove')),
    segment_id  text,                     -- why: the segment entered / left
    action_id   bigint REFERENCES segflow.tag_actions,  -- why: a one-off action
    reason      text        NOT NULL,     -- e.g. "run 2025-03-15", "apply", "tags assign"
    status      text        NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'done', 'failed', 'cancelled')),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one operation waiting per customer and tag: a re-run never queues a duplicate.
CREATE UNIQUE INDEX tag_outbox_one_waiting ON segflow.tag_outbox (customer_id, lower(tag))
    WHERE status = 'pending';
CREATE INDEX tag_outbox_open ON segflow.tag_outbox (status, op_id)
    WHERE status IN ('pending', 'sent');
CREATE INDEX tag_outbox_action ON segflow.tag_outbox (action_id) WHERE action_id IS NOT NULL;

-- `seg ingest shopify-api`: the newest updatedAt imported per resource (the next import asks
-- for what changed since).
CREATE TABLE segflow.shopify_imports (
    resource        text        PRIMARY KEY,     -- customers | orders
    last_updated_at timestamptz NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now()
);
