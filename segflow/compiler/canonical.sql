-- The canonical store tables that compiled rules read. Every source (Shopify CSV export,
-- Admin API, the synthetic generator) loads into these. Money is numeric(14,2) in the shop's
-- currency; timestamps are absolute (timestamptz); day boundaries in the store's time zone are
-- applied by the compiler as literal cut-offs.

CREATE SCHEMA IF NOT EXISTS store;

CREATE TABLE store.customers (
    customer_id             bigint PRIMARY KEY,
    email                   text,
    first_name              text,
    last_name               text,
    phone                   text,
    created_at              timestamptz,
    updated_at              timestamptz,
    tags                    text[] NOT NULL DEFAULT '{}',
    company                 text,
    city                    text,
    province                text,           -- name, when the source has it
    province_code           text,
    country                 text,           -- name, when the source has it
    country_code            text,
    zip                     text,
    accepts_email_marketing boolean NOT NULL DEFAULT false,
    accepts_sms_marketing   boolean NOT NULL DEFAULT false,
    tax_exempt              boolean NOT NULL DEFAULT false,
    note                    text
);
CREATE INDEX customers_email_idx ON store.customers (lower(email));

CREATE TABLE store.orders (
    order_id             bigint PRIMARY KEY,
    name                 text,                       -- e.g. #1001
    customer_id          bigint,                     -- NULL: no customer (guest, no email)
    email                text,
    placed_at            timestamptz NOT NULL,       -- Shopify processed_at, else created_at
    created_at           timestamptz,
    updated_at           timestamptz,
    cancelled_at         timestamptz,
    is_test              boolean NOT NULL DEFAULT false,
    financial_status     text,
    fulfillment_status   text,
    currency             text,
    subtotal_price       numeric(14,2),
    total_discounts      numeric(14,2) NOT NULL DEFAULT 0,
    total_shipping       numeric(14,2) NOT NULL DEFAULT 0,
    total_tax            numeric(14,2) NOT NULL DEFAULT 0,
    total_price          numeric(14,2) NOT NULL DEFAULT 0,   -- incl. tax and shipping, after discounts
    refunded_amount      numeric(14,2) NOT NULL DEFAULT 0,
    net_amount           numeric(14,2) GENERATED ALWAYS AS (total_price - refunded_amount) STORED,
    source               text,
    channel              text,
    landing_site         text,
    referring_site       text,
    utm_source           text,
    utm_medium           text,
    utm_campaign         text,
    discount_codes       text[] NOT NULL DEFAULT '{}',
    tags                 text[] NOT NULL DEFAULT '{}',
    shipping_city        text,
    shipping_province    text,                       -- province / state code
    shipping_country     text,                       -- country code
    -- Position of the order among its customer's orders that count today (not cancelled, not
    -- test), ordered by (placed_at, order_id); NULL for orders that do not count. Kept by
    -- segflow's loaders for read models (analytics, template thresholds); rules never read it:
    -- they derive each order's position among the orders counted on the evaluated day.
    customer_order_index integer
);
CREATE INDEX orders_customer_idx ON store.orders (customer_id, placed_at);
CREATE INDEX orders_placed_idx ON store.orders (placed_at);

CREATE TABLE store.order_lines (
    order_id     bigint  NOT NULL,
    line_no      integer NOT NULL,
    product_id   bigint,
    variant_id   bigint,
    product      text,           -- product title (from the CSV export: the line item name)
    variant      text,
    sku          text,
    vendor       text,
    product_type text,
    quantity     integer NOT NULL DEFAULT 1,
    price        numeric(14,2),
    discount     numeric(14,2) NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_no)
);

-- Refunds with the instant they were made, where the source has it (the Admin API, the
-- generator; a CSV export has none). `orders.refunded_amount` stays the order's whole refunded
-- amount today; a refund listed here is subtracted only from the day it was made, the rest of
-- `refunded_amount` from the day the order was placed. (Migration 0006 adds this table to
-- stores created before it.)
CREATE TABLE store.refunds (
    order_id   bigint        NOT NULL,
    refund_id  bigint        NOT NULL,
    created_at timestamptz   NOT NULL,
    amount     numeric(14,2) NOT NULL,
    PRIMARY KEY (order_id, refund_id)
);
CREATE INDEX refunds_created_idx ON store.refunds (created_at);

-- Members of static segments (`list = "lists/x.csv"`), loaded by `seg apply`.
CREATE TABLE store.list_members (
    segment_id  text   NOT NULL,
    customer_id bigint NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
);
