"""What the `probatio` command shows people: help (rich-argparse), tables and progress bars (rich).

Tables go to standard output, so `probatio users list > users.txt` keeps them; progress goes to standard
error and only to a terminal, so scripts and tests reading the output see the same lines as before."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich_argparse import RichHelpFormatter


class ArgumentParser(argparse.ArgumentParser):
    """argparse with help laid out by rich-argparse. Sub-commands added with `add_subparsers().add_parser`
    are of this class too, so every command's help looks the same wherever it is registered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", RichHelpFormatter)
        super().__init__(*args, **kwargs)


def _stdout() -> Console:
    # Created per call: tests and callers may have replaced sys.stdout since import.
    return Console(file=sys.stdout, soft_wrap=True)


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None) -> None:
    """Print rows as a table with these column headings; an empty cell for None."""
    shown = Table(*columns, title=title, title_justify="left", header_style="bold")
    for row in rows:
        shown.add_row(*("" if cell is None else str(cell) for cell in row))
    _stdout().print(shown)


class Steps:
    """A progress bar's handle: `advance("what comes next")` marks one step done; `by` marks a share of a
    step (a benchmark that counts seconds of work rather than things done)."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, next_step: str | None = None, *, by: float = 1) -> None:
        if self._progress is None:
            return
        self._progress.advance(self._task, by)
        if next_step:
            self._progress.update(self._task, description=next_step)

    def describe(self, now: str) -> None:
        """Say what is being done now, no step done yet (a new phase of the work)."""
        if self._progress is not None:
            self._progress.update(self._task, description=now)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Steps]:
    """A progress bar of `total` steps (a spinner with the time elapsed when the total is unknown) on
    standard error, while the block runs; nothing at all when standard error is not a terminal."""
    console = Console(file=sys.stderr)
    if not console.is_terminal:
        yield Steps(None, None)
        return
    columns: list[Any] = [SpinnerColumn(), TextColumn("[progress.description]{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        yield Steps(bar, bar.add_task(description, total=total))
