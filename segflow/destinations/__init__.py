"""Destinations: where memberships are sent (tags in Shopify first)."""
