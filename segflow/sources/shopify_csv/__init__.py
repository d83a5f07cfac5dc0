"""Loading store data from outside sources into the canonical tables."""

from segflow.sources.shopify_csv.importer import ImportSummary, import_shopify_csv
from segflow.sources.vocab.channels import channel_for

__all__ = ["ImportSummary", "channel_for", "import_shopify_csv"]
