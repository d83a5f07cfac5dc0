"""How the dashboard shows numbers: metric labels, values and their changes."""

from __future__ import annotations

from segflow.analytics.reports import METRICS

LABELS = {
    "customer_count": "Customers",
    "repeat_customer_rate": "Repeat rate",
    "lifetime_value": "Lifetime value",
    "average_order_value": "Avg order value",
    "average_order_count": "Avg orders",
    "purchase_interval_days": "Purchase interval (days)",
    "orders": "Orders",
    "revenue": "Revenue",
}
assert set(METRICS) <= set(LABELS)


def value(number: float | int | None, key: str = "") -> str:
    """One figure for people: rates and shares as percentages, counts whole, an index (Jaccard)
    with three decimals, amounts and ratios with two."""
    if number is None:
        return "—"
    if key == "id" or key.endswith("_id"):  # ids as they are: never 6,200,000,000,012
        return str(number)
    if key.endswith(("_rate", "_share")):
        return f"{number * 100:.1f}%"
    if key == "jaccard":
        return f"{number:.3f}"
    if key in ("customer_count", "orders") or isinstance(number, int):
        return f"{int(number):,}"
    return f"{number:,.2f}"


def change(now: float | int | None, before: float | int | None, key: str) -> str:
    """The change of a metric since an earlier day ('' when either day has no figure)."""
    if now is None or before is None:
        return ""
    delta = now - before
    text = f"{abs(delta) * 100:.1f} pt" if key.endswith("_rate") else value(abs(delta), key)
    if not any(c in "123456789" for c in text):  # rounds to nothing
        return "±0"
    return ("+" if delta > 0 else "−") + text


def trend(now: float | int | None, before: float | int | None, key: str = "") -> str:
    """CSS class of a change: up, down or flat (colour only; the text says the figure)."""
    if now is None or before is None or change(now, before, key) == "±0":
        return "flat"
    return "up" if now > before else "down"
