"""The sales channel of an order: one vocabulary for both imports.

`orders.source` keeps what Shopify recorded (the export's `Source`, the API's `sourceName`);
`orders.channel` is one of CHANNELS. The CSV import has only the source: `web`, `pos`,
`shopify_draft_order` and names of social networks or marketplaces are known; a numeric source is
the id of the app that created the order, which the export does not name (Shopify publishes no
table of app ids), so it is `other` unless an API import already showed what that app is
(see `segflow.sources.shopify_csv.importer`). The API import reads the channel Shopify attributes
the order to (`channelInformation`, `app`), then falls back to the source. Sources: docs/data.md.
"""

from __future__ import annotations

CHANNELS = ("online_store", "pos", "draft_order", "social", "marketplace", "other")

_EXACT = {
    "web": "online_store",
    "online_store": "online_store",
    "online store": "online_store",
    "pos": "pos",
    "point_of_sale": "pos",
    "point of sale": "pos",
    "shopify_draft_order": "draft_order",
    "draft_order": "draft_order",
    "draft orders": "draft_order",
    "draft_orders": "draft_order",
}
_SOCIAL = ("facebook", "instagram", "tiktok", "pinterest", "snapchat", "messenger", "whatsapp",
           "youtube", "social")
_MARKETPLACE = ("amazon", "ebay", "walmart", "etsy", "marketplace")


def _named(name: str | None) -> str | None:
    """The channel a source or channel name says, or None when it says nothing known."""
    if not name:
        return None
    key = name.strip().lower()
    exact = _EXACT.get(key)
    if exact:
        return exact
    if any(word in key for word in _SOCIAL):
        return "social"
    if any(word in key for word in _MARKETPLACE):
        return "marketplace"
    return None


def channel_for(source: str | None) -> str:
    """`online_store`, `pos`, `draft_order`, `social`, `marketplace` or `other`.

    web -> online_store, pos -> pos, shopify_draft_order -> draft_order; a source naming a social
    network (facebook, instagram, tiktok, ...) -> social; amazon / ebay / walmart / etsy ->
    marketplace; anything else, including no source and numeric app ids, -> other.
    """
    return _named(source) or "other"


def is_app_id(source: str | None) -> bool:
    """A numeric source: the id of the app that created the order (the export does not name it)."""
    return bool(source) and source.strip().isdigit()


def channel_for_api(source: str | None, order: dict) -> str:
    """The channel of an Admin API order: its `channelInformation` (channel definition, then the
    channel's app), then the app that created it (`app { name }`), then `sourceName`.

    A channel definition marked `isMarketplace` that names no known network is `marketplace`.
    """
    info = order.get("channelInformation") or {}
    definition = info.get("channelDefinition") or {}
    names = (definition.get("channelName"), definition.get("subChannelName"),
             definition.get("handle"), (info.get("app") or {}).get("title"),
             (order.get("app") or {}).get("name"))
    for name in names:
        found = _named(name)
        if found:
            return found
    if definition.get("isMarketplace"):
        return "marketplace"
    return channel_for(source)
