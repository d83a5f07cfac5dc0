"""The sales channel of an order, normalised from its source (`Source` in Shopify's export)."""

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
}
_SOCIAL = ("facebook", "instagram", "tiktok", "pinterest", "snapchat", "messenger", "whatsapp",
           "youtube", "social")
_MARKETPLACE = ("amazon", "ebay", "walmart", "etsy", "marketplace")


def channel_for(source: str | None) -> str:
    """`online_store`, `pos`, `draft_order`, `social`, `marketplace` or `other`.

    web -> online_store, pos -> pos, shopify_draft_order -> draft_order; a source naming a social
    network (facebook, instagram, tiktok, ...) -> social; amazon / ebay / walmart / etsy ->
    marketplace; anything else, including no source and numeric app ids, -> other.
    """
    if not source:
        return "other"
    key = source.strip().lower()
    exact = _EXACT.get(key)
    if exact:
        return exact
    if any(name in key for name in _SOCIAL):
        return "social"
    if any(name in key for name in _MARKETPLACE):
        return "marketplace"
    return "other"
