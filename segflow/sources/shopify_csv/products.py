"""What a line item is: product and variant from the orders export's `Lineitem name`.

The export's `Lineitem name` is the product title, then " - " and the variant title when the
product has variants (`Leila Pullover - Noire / S`; a variant title is its option values joined
with " / "). A product without variants has one variant titled `Default Title`, and its lines
carry the product title alone. The API gives both titles separately; this module makes the CSV
import give the same ones:

- with Shopify's products export (`products_export.csv`), a line is matched to its variant by SKU,
  else to the longest product title that is the whole line name or is followed by " - " in it;
- without it (or for a line the catalog does not know), `split_names` decides from the names
  themselves (the rule is in docs/data.md).

Nothing here touches the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from segflow.sources.shopify_csv.parsing import CsvFile

SEP = " - "
OPTION_SEP = " / "
DEFAULT_VARIANT = "Default Title"  # the variant title of a product without variants


def variant_title(title: str | None) -> str | None:
    """NULL for Shopify's `Default Title` (a product without variants) and for no title."""
    title = (title or "").strip()
    return None if not title or title == DEFAULT_VARIANT else title


@dataclass(frozen=True)
class Product:
    title: str
    product_type: str | None
    vendor: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    product: str
    variant: str | None
    product_type: str | None = None
    vendor: str | None = None
    how: str = "catalog"  # catalog | split | whole
    tags: tuple[str, ...] = ()


@dataclass
class Catalog:
    """Shopify's products export: products by handle, their variants by SKU and by title."""

    by_sku: dict[str, Match] = field(default_factory=dict)
    titles: dict[str, Product] = field(default_factory=dict)

    def match(self, name: str, sku: str | None) -> Match | None:
        if sku and sku in self.by_sku:
            return self.by_sku[sku]
        best = None
        for title in self._prefixes(name):
            if best is None or len(title) > len(best):
                best = title
        if best is None:
            return None
        p = self.titles[best]
        rest = name[len(best) + len(SEP):] if len(name) > len(best) else None
        return Match(p.title, variant_title(rest), p.product_type, p.vendor, tags=p.tags)

    def _prefixes(self, name: str) -> Iterable[str]:
        if name in self.titles:
            yield name
        start = name.find(SEP)
        while start != -1:
            if name[:start] in self.titles:
                yield name[:start]
            start = name.find(SEP, start + 1)


# Each column by its header in the classic export (`Handle`, `Variant SKU`, `Option1 Value`) and
# in the current template (`URL handle`, `SKU`, `Option1 value`), Shopify's help "Using CSV files
# to import and export products".
PRODUCT_COLUMNS = {
    "handle": ("Handle", "URL handle"),
    "title": ("Title",),
    "option1": ("Option1 Value", "Option1 value"),
    "option2": ("Option2 Value", "Option2 value"),
    "option3": ("Option3 Value", "Option3 value"),
    "sku": ("Variant SKU", "SKU"),
    "type": ("Type",),
    "vendor": ("Vendor",),
    "tags": ("Tags",),
}


def parse_products(f: CsvFile) -> Catalog:
    """Read products_export.csv. A product's first row (by handle) holds Title / Type / Vendor /
    Tags; every row with an option value and a SKU is a variant; image-only rows are skipped."""
    header, rows = f.header_and_rows()
    width = len(header)
    col = f.locate(header, PRODUCT_COLUMNS)
    if col["handle"] == width or col["title"] == width:
        f.columns(header, ("Handle", "Title"), "products")
    catalog = Catalog()
    products: dict[str, Product] = {}
    for line, row in rows:
        if not any(row):
            continue
        row = row + [""] * (width + 1 - len(row))
        handle = row[col["handle"]].strip()
        if not handle:
            f.error(line, "no product Handle")
            continue
        product = products.get(handle)
        if product is None:
            title = row[col["title"]].strip()
            if not title:
                f.error(line, f"product {handle!r}: its first row has no Title")
                continue
            tags = tuple(t for t in (s.strip() for s in row[col["tags"]].split(",")) if t)
            product = products[handle] = Product(title, row[col["type"]].strip() or None,
                                                 row[col["vendor"]].strip() or None, tags)
            catalog.titles.setdefault(title, product)
        options = [row[col[f"option{i}"]].strip() for i in (1, 2, 3)]
        sku = row[col["sku"]].strip().lstrip("'")
        if sku and any(options):
            variant = variant_title(OPTION_SEP.join(o for o in options if o))
            catalog.by_sku.setdefault(sku, Match(product.title, variant, product.product_type,
                                                 product.vendor, tags=product.tags))
    return catalog


def split_names(names: Iterable[str]) -> dict[str, Match]:
    """Product and variant of each line name, from the names alone (no catalog).

    A name is split at its LAST " - " when the part after it is evidently a variant title: it
    holds " / " (option values, `Noire / S`), or the same product part appears in these names
    with two or more different variant parts. Otherwise the name stays whole (a product title
    may itself contain " - ").
    """
    names = set(names)
    suffixes: dict[str, set[str]] = defaultdict(set)
    for name in names:
        head, sep, tail = name.rpartition(SEP)
        if sep and head and tail:
            suffixes[head].add(tail)
    out: dict[str, Match] = {}
    for name in names:
        head, sep, tail = name.rpartition(SEP)
        if sep and head and tail and (OPTION_SEP in tail or len(suffixes[head]) >= 2):
            out[name] = Match(head, variant_title(tail), how="split")
        else:
            out[name] = Match(name, None, how="whole")
    return out
