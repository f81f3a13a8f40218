"""Progress bars for long CLI work (simulation, pipeline stages)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

Callback = Callable[[str, int, int], None]


@contextlib.contextmanager
def progress_bar(console: Console | None = None) -> Iterator[Callback]:
    """A callback ``(label, done, total)`` that drives one rich progress bar per distinct label."""
    console = console or Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<42}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not sys.stderr.isatty() and not console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def update(label: str, done: int, total: int) -> None:
        if label == "done":
            for task in tasks.values():
                bar.update(task, completed=total, total=total)
            return
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done, total=total)

    with bar:
        yield update
