"""Which orders the analytics count, and on which day: the same rule as the daily order activity.

An order counts when it has a customer, is not cancelled and is not a test; its amount is what
the customer paid, `net_amount` (total price incl. tax and shipping, after discounts, less
refunds); its day is the calendar day it was placed on in the store's time zone.
"""

from __future__ import annotations

import datetime as dt

from segflow.compiler.evaluation import Evaluation

COUNTED = "o.customer_id IS NOT NULL AND o.cancelled_at IS NULL AND NOT o.is_test"

# The day an order was placed on, in the store's time zone (%(tz)s).
ORDER_DAY = "(o.placed_at AT TIME ZONE %(tz)s)::date"


def day_bounds(start: dt.date, end: dt.date, timezone: str) -> dict:
    """`start_at` / `end_at`: the instants [start, end] (whole days, store time) begin and end."""
    ev = Evaluation(end, timezone)
    return {"start_at": ev.day_start(start), "end_at": ev.day_start(end + dt.timedelta(days=1)),
            "tz": timezone}
