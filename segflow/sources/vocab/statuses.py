"""Financial and fulfillment statuses: one vocabulary whichever import loaded the order.

The vocabulary is the orders export's lower-case words. Financial: paid, pending, authorized,
partially_paid, partially_refunded, refunded, voided, expired. Fulfillment: fulfilled,
unfulfilled, partial, restocked. The Admin API's display enums (`displayFinancialStatus`,
`displayFulfillmentStatus`) are mapped onto them; sources in docs/data.md.
"""

from __future__ import annotations

FINANCIAL = ("paid", "pending", "authorized", "partially_paid", "partially_refunded", "refunded",
             "voided", "expired")
FULFILLMENT = ("fulfilled", "unfulfilled", "partial", "restocked")

# OrderDisplayFulfillmentStatus -> the export's word. OPEN and RESTOCKED are "replaced by
# UNFULFILLED", PENDING_FULFILLMENT by IN_PROGRESS (Shopify's enum documentation); items sent to a
# fulfillment service, on hold or scheduled are not fulfilled yet.
_API_FULFILLMENT = {
    "FULFILLED": "fulfilled",
    "UNFULFILLED": "unfulfilled",
    "OPEN": "unfulfilled",
    "IN_PROGRESS": "unfulfilled",
    "PENDING_FULFILLMENT": "unfulfilled",
    "ON_HOLD": "unfulfilled",
    "SCHEDULED": "unfulfilled",
    "REQUEST_DECLINED": "unfulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}
# the export's older words for the same states
_CSV_FULFILLMENT = {"pending": "unfulfilled", "partially_fulfilled": "partial",
                    "unshipped": "unfulfilled", "shipped": "fulfilled"}


def financial_status(value: str | None) -> str | None:
    """`PARTIALLY_REFUNDED` (API) or `partially_refunded` (CSV) -> `partially_refunded`."""
    value = (value or "").strip().lower().replace(" ", "_")
    return value or None


def fulfillment_status(value: str | None) -> str | None:
    """The export's word for an API enum or an export value; no value -> None."""
    text = (value or "").strip()
    if not text:
        return None
    api = _API_FULFILLMENT.get(text.upper().replace(" ", "_"))
    if api:
        return api
    key = text.lower().replace(" ", "_")
    return _CSV_FULFILLMENT.get(key, key)
