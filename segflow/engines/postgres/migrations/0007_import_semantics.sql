-- What real Shopify exports mean (issue 14): the titles of discounts that are not codes (manual,
-- automatic and script discounts) beside `discount_codes`, which now holds codes only.
ALTER TABLE store.orders ADD COLUMN discount_titles text[] NOT NULL DEFAULT '{}';
-- The tags of a line item's product (the products export's `Tags`, the API's `product { tags }`).
ALTER TABLE store.order_lines ADD COLUMN product_tags text[] NOT NULL DEFAULT '{}';
