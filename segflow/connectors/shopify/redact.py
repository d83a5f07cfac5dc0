"""What a secret looks like, and text with every such thing masked.

Shopify's tokens and secrets carry a prefix (`shpat_` admin API access token, `shpca_` custom
app, `shppa_` private app, `shpss_` shared secret); older secrets are 32 hex digits. Anything of
that shape is masked before segflow prints it, whatever put it in the text.
"""

from __future__ import annotations

import re

_SECRET = re.compile(r"shp(?:at|ca|pa|ss)_[A-Za-z0-9_-]*|(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}"
                     r"(?![0-9A-Fa-f])")


def looks_like_secret(text: str) -> bool:
    return bool(_SECRET.search(text))


def redact(text: str) -> str:
    """The text with every token-shaped word replaced by `***`."""
    return _SECRET.sub("***", text)
