"""Engines: where the compiled segments are computed. One folder per engine."""
