-- What real Shopify exports mean (issue 14): the titles of discounts that are not codes (manual,
-- automatic and script discounts) beside `discount_codes`, which now holds codes only.
ALTER TABLE store.orders ADD COLUMN discount_titles text[] NOT NULL DEFAULT '{}';
