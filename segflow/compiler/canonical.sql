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
    -- Position of the order among its customer's counted orders (not cancelled, not test),
    -- ordered by (placed_at, order_id); NULL for orders that do not count. It does not depend on
    -- the evaluation day: cutting the history at a day keeps a prefix of this order.
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

-- Members of static segments (`list = "lists/x.csv"`), loaded by `seg apply`.
CREATE TABLE store.list_members (
    segment_id  text   NOT NULL,
    customer_id bigint NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
);
