"""Templates that `seg init` copies into a new segments repository."""
