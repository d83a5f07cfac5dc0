"""Deterministic synthetic Shopify store: catalog, customer behaviour, and loading.

`generate_store(conn, customers, seed, end_date)` replaces the canonical store tables with a
generated store; `write_csv(folder, ...)` writes the same store as Shopify admin exports.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from segflow.sources.synth.writer import Progress, Summary, copy_store, write_csv


def generate_store(conn: psycopg.Connection, customers: int, seed: int,
                   end_date: dt.date | None = None, progress: Progress | None = None) -> Summary:
    """Replace the store's customers, orders and lines with a generated store (one transaction)."""
    if end_date is None:
        end_date = dt.datetime.now(dt.UTC).date()
    return copy_store(conn, customers, seed, end_date, progress)


__all__ = ["Progress", "Summary", "generate_store", "write_csv"]
