"""Printing rows as a table (people), CSV or JSON (programs)."""

from __future__ import annotations

import csv
import io
import json
import sys

import click

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                      default="table", show_default=True, help="Output format.")


def fmt_value(value, key: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if key.endswith("_rate"):
            return f"{value * 100:.1f}%"
        return f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def emit(rows: list[dict], columns: list[str], fmt: str, *, title: str | None = None,
         headers: dict[str, str] | None = None, meta: dict | None = None) -> None:
    headers = headers or {}
    if fmt == "json":
        payload = rows if meta is None else {**meta, "rows": rows}
        click.echo(json.dumps(payload, indent=2, default=str))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
        click.echo(buf.getvalue(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for i, col in enumerate(columns):
        sample = next((r.get(col) for r in rows if r.get(col) is not None), None)
        numeric = isinstance(sample, int | float) and not isinstance(sample, bool)
        table.add_column(headers.get(col, col.replace("_", " ")),
                         justify="right" if numeric else "left", no_wrap=i == 0,
                         max_width=None if i == 0 else 40)
    for row in rows:
        table.add_row(*(fmt_value(row.get(c), c) for c in columns))
    Console(file=sys.stdout, width=max(100, Console().width)).print(table)
