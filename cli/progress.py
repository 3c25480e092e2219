"""Progress bars of the CLI's long commands (``triage train``, ``replay``, ``templates``,
``summarize``): on stderr and only when stderr is a terminal, so that a pipe, a file or a test
gets exactly the output it got before; stdout is never touched."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

T = TypeVar("T")

Advance = Callable[[int], None]


def _ignore(_done: int) -> None:
    """What ``advance`` is when no bar is shown."""


@contextmanager
def progress_bar(
    description: str,
    total: int | Callable[[], int] | None,
    *,
    stream: TextIO | None = None,
) -> Iterator[Advance]:
    """A bar counting items up to ``total`` (a spinner when ``total`` is None: one long step
    whose items are counted in ``description``); yields ``advance(n)``. A callable ``total``
    (counting a file's lines, say) is called only when the bar is shown. ``stream`` defaults
    to the current ``sys.stderr``."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        yield _ignore
        return
    if callable(total):
        total = total()
    # rich.progress is imported only when a bar is drawn (docs/decisions/0003-cli-startup.md)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        [TextColumn(description), BarColumn(), MofNCompleteColumn()]
        if total is not None
        else [SpinnerColumn(), TextColumn(description)]
    )
    with Progress(*columns, TimeElapsedColumn(), console=Console(file=stream)) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.advance(task, done)


def counted(items: Iterable[T], advance: Advance) -> Iterator[T]:
    """``items`` unchanged, advancing the bar by one per item as it is consumed."""
    for item in items:
        yield item
        advance(1)
