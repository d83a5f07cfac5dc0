-- segflow's own state: what was applied, current memberships, history.
CREATE SCHEMA IF NOT EXISTS segflow;

-- One row per segment ever applied. `ordinal` is a small stable number used in the compact
-- membership arrays and events; it is never reused.
CREATE TABLE segflow.segments (
    segment_id   text PRIMARY KEY,
    ordinal      integer NOT NULL UNIQUE,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    path         text,
    tag          text,
    list_path    text,
    fingerprint  text NOT NULL,          -- of the normalised definition (current version)
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz              -- file deleted: retired, history kept
);
CREATE SEQUENCE segflow.segment_ordinal_seq;

CREATE TABLE segflow.segment_versions (
    segment_id   text NOT NULL REFERENCES segflow.segments,
    fingerprint  text NOT NULL,
    source       text NOT NULL,          -- the declaration as formatted
    compiled_sql text NOT NULL,
    list_hash    text,                   -- static segments: hash of the list file
    applied_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, fingerprint)
);

CREATE TABLE segflow.groups (
    group_id    text PRIMARY KEY,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

CREATE TABLE segflow.group_segments (
    group_id   text NOT NULL REFERENCES segflow.groups,
    segment_id text NOT NULL REFERENCES segflow.segments,
    PRIMARY KEY (group_id, segment_id)
);

-- Current memberships, compactly: the sorted segment ordinals of each customer in any segment.
CREATE TABLE segflow.customer_segments (
    customer_id bigint PRIMARY KEY,
    segments    integer[] NOT NULL
);

-- Entered / left, by day (the day's run, an apply, or a backfill).
CREATE TABLE segflow.membership_events (
    day         date    NOT NULL,
    segment_ord integer NOT NULL,
    customer_id bigint  NOT NULL,
    entered     boolean NOT NULL,        -- false: left
    backfilled  boolean NOT NULL DEFAULT false
);
CREATE INDEX membership_events_seg_day ON segflow.membership_events (segment_ord, day);

-- The six metrics of each segment, per day.
CREATE TABLE segflow.daily_metrics (
    day                    date NOT NULL,
    segment_id             text NOT NULL,
    customer_count         bigint NOT NULL,
    repeat_customer_rate   numeric,
    lifetime_value         numeric,
    average_order_value    numeric,
    average_order_count    numeric,
    purchase_interval_days numeric,
    backfilled             boolean NOT NULL DEFAULT false,
    PRIMARY KEY (segment_id, day)
);

-- Orders and revenue from each segment's members, per day.
CREATE TABLE segflow.daily_activity (
    day        date NOT NULL,
    segment_id text NOT NULL,
    orders     bigint NOT NULL,
    revenue    numeric(16,2) NOT NULL,
    backfilled boolean NOT NULL DEFAULT false,
    PRIMARY KEY (segment_id, day)
);

CREATE TABLE segflow.runs (
    run_id      bigserial PRIMARY KEY,
    kind        text NOT NULL,            -- run | apply | backfill
    day         date,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL,            -- ok | failed
    segments    integer,
    detail      jsonb NOT NULL DEFAULT '{}'
);

-- The last day the daily run recorded (memberships in customer_segments are as of it).
CREATE TABLE segflow.state (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_run_day  date,
    revision      bigint NOT NULL DEFAULT 0   -- bumped by every apply and run: plans carry it
);
INSERT INTO segflow.state DEFAULT VALUES;
