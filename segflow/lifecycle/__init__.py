"""Plan, apply, run, backfill: the as-code loop, orchestrated over an engine."""
