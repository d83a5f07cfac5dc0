"""Shopify's Admin GraphQL API: auth, the paced client, bulk jobs, the local fake."""
