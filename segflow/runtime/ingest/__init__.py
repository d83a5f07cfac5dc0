"""Loading store data from outside sources into the canonical tables."""

from segflow.runtime.ingest.channels import channel_for
from segflow.runtime.ingest.shopify_csv import ImportSummary, import_shopify_csv

__all__ = ["ImportSummary", "channel_for", "import_shopify_csv"]
