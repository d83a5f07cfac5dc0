"""Shopify: customer-tag sync through an outbox, the Admin GraphQL client, a local fake."""
