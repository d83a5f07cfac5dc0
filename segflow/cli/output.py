"""Printing rows as a table (people), CSV or JSON (programs)."""

from __future__ import annotations

import csv
import io
import json
import sys

import click

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]),
                      default="table", show_default=True, help="Output format.")


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 group`, `2 groups`, `1,020 customers`."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def is_identifier(key: str) -> bool:
    """Columns holding ids, printed as they are: a customer id is never `6,200,000,000,012`."""
    return key == "id" or key.endswith("_id")


def fmt_value(value, key: str = "") -> str:
    if value is None:
        return "—"
    if is_identifier(key):
        return str(value)
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
    _print_table(columns, [[fmt_value(row.get(c), c) for c in columns] for row in rows],
                 [headers.get(col, col.replace("_", " ")) for col in columns],
                 [_is_figure(rows, col) for col in columns], title)


def _is_figure(rows: list[dict], col: str) -> bool:
    sample = next((r.get(col) for r in rows if r.get(col) is not None), None)
    return isinstance(sample, int | float) and not isinstance(sample, bool)


MIN_TEXT = 12  # narrowest a wrapping text column (a title, an email) gets
MAX_TEXT = 40  # widest a text column gets, wrapping beyond
# (frame, between columns): the boxed table ("│ x │ y │"), else the compact one ("x  y")
BOXED, COMPACT = (4, 3), (0, 2)


def _width(text: str) -> int:
    """How many terminal cells the widest line of `text` takes (a CJK letter or an emoji: 2)."""
    from rich.cells import cell_len

    return max(cell_len(line) for line in text.split("\n"))


def _widths(cells: list[list[str]], labels: list[str], whole: list[bool], room: int,
            frame: tuple[int, int], shrink: bool = True) -> list[int] | None:
    """Column widths within `room`: ids and figures whole (their headers may wrap at spaces),
    text columns (with `shrink`) narrowed widest first down to MIN_TEXT; None when even that
    does not fit."""
    widest = [max([_width(line[i]) for line in cells] + [0]) for i in range(len(labels))]
    word = [max(_width(w) for w in label.split()) if label.strip() else 0 for label in labels]
    widths = [max(w, _width(label)) if whole[i] else min(max(w, _width(label)), MAX_TEXT)
              for i, (w, label) in enumerate(zip(widest, labels, strict=True))]
    floor = [max(widest[i], word[i]) if whole[i] else min(widths[i], max(MIN_TEXT, word[i]))
             for i in range(len(labels))]
    room -= frame[0] + frame[1] * (len(labels) - 1)
    for i in range(len(widths)):  # first: wrap the headers of ids and figures
        if sum(widths) > room and whole[i]:
            widths[i] = floor[i]
    while sum(widths) > room:  # then: narrow the widest text column
        if not shrink:
            return None
        i = max((j for j in range(len(widths)) if widths[j] > floor[j]),
                key=lambda j: widths[j], default=None)
        if i is None:
            return None
        widths[i] = max(floor[i], widths[i] - (sum(widths) - room))
    return widths


def _stack_text(cells: list[list[str]], labels: list[str], figures: list[bool],
                whole: list[bool]) -> tuple[list[list[str]], list[str], list[bool]]:
    """The text columns moved under the first column, one line each (for narrow terminals)."""
    moved = [i for i in range(len(labels)) if not whole[i]]
    keep = [i for i in range(len(labels)) if whole[i]]
    cells = [[line[0] + "".join(f"\n{line[i]}" for i in moved if line[i] not in ("", "—")),
              *(line[i] for i in keep[1:])] for line in cells]
    labels = [" / ".join(labels[i] for i in [0, *moved]), *(labels[i] for i in keep[1:])]
    return cells, labels, [figures[i] for i in keep]


def _print_table(columns: list[str], cells: list[list[str]], labels: list[str],
                 figures: list[bool], title: str | None) -> None:
    """A table within the terminal's width: ids and figures whole, text wrapped; framed when
    it fits with text columns as wide as they need (up to MAX_TEXT), else compact with them
    narrowed, else compact with the text columns stacked under the first one."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)  # the terminal's width ($COLUMNS; 80 when not a terminal)
    whole = [i == 0 or figures[i] or is_identifier(c) for i, c in enumerate(columns)]
    frame = BOXED
    widths = _widths(cells, labels, whole, console.width, BOXED, shrink=False)
    if widths is None:
        frame = COMPACT
        widths = _widths(cells, labels, whole, console.width, COMPACT)
    if widths is None and not all(whole):
        cells, labels, figures = _stack_text(cells, labels, figures, whole)
        # the first column's text lines wrap; its ids (first lines) stay whole
        firsts = [[line[0].split("\n", 1)[0], *line[1:]] for line in cells]
        widths = _widths(firsts, labels, [True] * len(labels), console.width, COMPACT)
    if frame == BOXED:
        table = Table(title=title, header_style="bold")
    else:
        table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, show_edge=False,
                      pad_edge=False, collapse_padding=True)
    for i, label in enumerate(labels):
        table.add_column(label, justify="right" if figures[i] else "left", overflow="fold",
                         width=widths[i] if widths else None)
    for line in cells:
        table.add_row(*line)
    console.print(table)
