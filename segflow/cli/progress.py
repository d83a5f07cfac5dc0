"""Progress of long work on stderr: a bar on a terminal, a line now and then in a log (CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

Tick = Callable[[int, int], None]  # (done, total)
LOG_EVERY_S = 10.0


@contextmanager
def progress(label: str, total: int) -> Iterator[Tick]:
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=total)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield tick
        return
    last = [time.monotonic()]

    def log(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= LOG_EVERY_S:
            last[0] = now
            click.echo(f"{label}: {done:,}/{total:,}", err=True)

    yield log
