"""One vocabulary for every import: channels, statuses, discounts."""
