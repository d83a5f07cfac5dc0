"""Sources: loading store data from outside into the canonical tables."""
