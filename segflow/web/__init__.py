"""The dashboard: segflow's state as web pages, served live (`seg serve`) or written as a static
site (`seg report`).

A layer above the runtime, beside the CLI: it reads state only through segflow.analytics.reports
(and, for highlighting, the rule language's own lexer). Pages are pure functions of that data, so
the live server and the static site render the very same HTML.
"""
