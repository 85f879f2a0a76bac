"""What the CLI writes to stderr besides results: ``llmc: ...`` lines and progress bars.

Every error line of the program comes from :func:`error`: :func:`llmcompiler.cli.main`
uses it for the exception that ends a command, and commands use it for each input of a
batch that fails while the rest goes on. Only the CLI shows progress bars; the library
takes a ``progress(iterable, total, desc)`` callable and knows nothing of them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def error(message: str) -> None:
    """Print the error line for ``message`` on stderr."""
    print(f"llmc: error: {message}", file=sys.stderr)


def warning(message: str) -> None:
    """Print ``llmc: warning: MESSAGE`` on stderr."""
    print(f"llmc: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    """Print ``llmc: note: MESSAGE`` on stderr."""
    print(f"llmc: note: {message}", file=sys.stderr)


def status(message: str) -> None:
    """Print ``llmc: MESSAGE`` on stderr: what a command did or left out (resuming, skipped)."""
    print(f"llmc: {message}", file=sys.stderr)


def progress(
    iterable: Iterable[T] | None,
    total: int | None,
    desc: str,
    *,
    unit: str = "it",
    leave: bool = False,
) -> tqdm:
    """A progress bar on stderr over ``iterable``, drawn only when stderr is a terminal.

    Returns the bar: iterate it like ``iterable``, or, for ``iterable=None``, advance it
    with ``update(n)`` and ``close()`` it (or use it as a context manager).
    """
    return tqdm(
        iterable, total=total, desc=desc, unit=unit, file=sys.stderr, disable=None, leave=leave
    )
