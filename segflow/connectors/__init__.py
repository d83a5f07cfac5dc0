"""Clients of outside APIs, shared by the sources and destinations that use them."""
