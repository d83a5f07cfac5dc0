"""Discounts of an order: codes (`orders.discount_codes`) and the titles of discounts that are
not codes (`orders.discount_titles`: manual, automatic and script discounts).

The orders export's `Discount Code` joins all of an order's discounts with " + "
(`SECRETCODE50 + PIA20 + SECRETSHIP10`), codes and non-code titles alike (`Custom discount`,
`AUTOMATIC DISCOUNTS`, `Seller discount`). The export does not say which is which, so a part is a
title when it is one of the labels Shopify writes for non-code discounts or has a space (Shopify
writes codes without spaces in the export's examples; a title is free text); anything else is a
code. The Admin API says it exactly: `discountCodes` are codes, `discountApplications` carry the
titles of the others. The rule and its limits: docs/data.md.
"""

from __future__ import annotations

JOIN = " + "
# What the export writes for discounts that have no code.
NON_CODE_LABELS = frozenset({"custom discount", "automatic discounts", "automatic discount",
                             "seller discount", "manual discount", "discount"})
# Admin API DiscountApplication types that are not codes (`DiscountCodeApplication` is a code).
TITLED_APPLICATIONS = frozenset({"ManualDiscountApplication", "AutomaticDiscountApplication",
                                 "ScriptDiscountApplication"})


def split_discounts(text: str) -> tuple[list[str], list[str]]:
    """(codes, titles) of the export's `Discount Code` value, each in order, without repeats."""
    codes: list[str] = []
    titles: list[str] = []
    for part in (p.strip() for p in (text or "").split(JOIN)):
        if not part:
            continue
        target = titles if part.lower() in NON_CODE_LABELS or " " in part else codes
        if part not in target:
            target.append(part)
    return codes, titles


def api_titles(applications: list[dict]) -> list[str]:
    """Titles of an API order's non-code discount applications, in order, without repeats."""
    titles: list[str] = []
    for app in applications:
        title = (app.get("title") or "").strip()
        if app.get("__typename") in TITLED_APPLICATIONS and title and title not in titles:
            titles.append(title)
    return titles
