"""Customers and orders from Shopify's Admin API."""
