"""What the CLI writes to stderr besides results: ``llmc: ...`` lines and progress bars.

Every error line of the program comes from :func:`error`: :func:`llmcompiler.cli.main`
uses it for the exception that ends a command, and commands use it for each input of a
batch that fails while the rest goes on. Only the CLI shows progress bars; the library
takes a ``progress(iterable, total, desc)`` callable and knows nothing of them.

File names and compiler diagnostics come from outside: every message printed here, and
every file name a table prints, goes through :func:`printable` first, so that no escape
sequence in them reaches the terminal.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: what a terminal would act on: C0 controls but tab and newline, DEL, C1 controls, the
#: bidirectional overrides and isolates, and lone surrogates (undecodable bytes of a file
#: name as Python hands them over)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match[0])
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte the name really holds
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: each control character (but newline and tab)
    written as ``\\xNN`` (``\\uNNNN`` above U+00FF), every other character as it is."""
    return _UNSAFE.sub(_escape, text)


def error(message: str) -> None:
    """Print the error line for ``message`` on stderr (escaped, :func:`printable`)."""
    print(f"llmc: error: {printable(message)}", file=sys.stderr)


def warning(message: str) -> None:
    """Print ``llmc: warning: MESSAGE`` on stderr."""
    print(f"llmc: warning: {printable(message)}", file=sys.stderr)


def note(message: str) -> None:
    """Print ``llmc: note: MESSAGE`` on stderr."""
    print(f"llmc: note: {printable(message)}", file=sys.stderr)


def status(message: str) -> None:
    """Print ``llmc: MESSAGE`` on stderr: what a command did or left out (resuming, skipped)."""
    print(f"llmc: {printable(message)}", file=sys.stderr)


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
