"""The ``llmc`` command: a thin layer over the library.

Results go to stdout, progress and messages to stderr. ``main(argv)`` returns the exit
code: 0 success, 1 some input failed, 2 usage error, 3 LLVM missing, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM).

Each module here holds one group of commands: its ``add_commands(subparsers)`` adds them
and binds each to the function that runs it (``args.run``). Commands raise
:class:`~llmcompiler.errors.LLMCError` (``UsageError`` for a command line that cannot
work); :func:`main` is the one place that turns an exception into a message and an exit
code.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence

from llmcompiler import __version__
from llmcompiler.errors import LLMCError

# The command groups, the report helpers and the engine are imported when a command
# other than ``llmc cc`` runs: a compiler launcher starts in a few milliseconds.

#: the command groups (modules of this package), in the order ``llmc --help`` lists them;
#: imported when the parser is built, so ``llmc cc`` starts without them
_GROUPS = (
    "measure",
    "optimize",
    "autotune",
    "cc",
    "buildreport",
    "corpus",
    "dataset",
    "inspect",
    "narrow",
    "ranker",
    "tasks",
    "train",
    "evaluate",
    "passes",
    "targets",
    "cache",
)


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors safe to print: a mistyped argument may hold escape
    sequences or undecodable bytes (a file name), which reach the terminal escaped."""

    def error(self, message: str):
        from llmcompiler.cli.report import printable

        super().error(printable(message))


def build_parser() -> argparse.ArgumentParser:
    """The ``llmc`` parser; each command sets ``run``, the function that runs it."""
    parser = _Parser(
        prog="llmc", description="Optimize code size with language models and the real LLVM."
    )
    parser.add_argument("--version", action="version", version=f"llmc {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _GROUPS:
        group = importlib.import_module(f"llmcompiler.cli.{name}")
        group.add_commands(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that the same clean-up runs."""


def _interrupted(signum: int, frame) -> None:
    """The SIGINT and SIGTERM handler: raise once, then let the clean-up finish."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignore)
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _ignore(signum: int, frame) -> None:
    """A second Ctrl-C while workers are being stopped (a Python handler, not SIG_IGN,
    so that the programs started meanwhile do not inherit it)."""


@contextlib.contextmanager
def _signals_and_warnings() -> Iterator[None]:
    """While a command runs: SIGINT and SIGTERM raise KeyboardInterrupt (Terminated) in
    the main thread, and a :class:`CacheWarning` from the library becomes one
    ``llmc: warning:`` line."""
    from llmcompiler.cli.report import warning
    from llmcompiler.engine.cache import CacheWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CacheWarning):
            warning(str(message))
        else:
            shown(message, category, filename, lineno, file, line)

    main_thread = threading.current_thread() is threading.main_thread()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with warnings.catch_warnings():
        shown = warnings.showwarning
        warnings.showwarning = show
        warnings.simplefilter("always", CacheWarning)  # each is said once by its source
        try:
            if main_thread:
                for sig in saved:
                    signal.signal(sig, _interrupted)
            yield
        finally:
            if main_thread:
                for sig, handler in saved.items():
                    signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``llmc`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    An :class:`LLMCError` becomes one error line (:func:`report.error`) and its
    ``exit_code`` (1; 2 for a usage error, 3 for missing LLVM); Ctrl-C becomes 130 and
    SIGTERM 143, each after the command has stopped its worker processes; a closed
    stdout (``llmc ... | head``) ends quietly with 0. argparse itself exits with 2 for an
    unknown option. ``llmc cc`` and ``llmc c++`` take clang's arguments verbatim: they
    go to the compiler driver before argparse (:mod:`llmcompiler.cli.cc`).
    """
    process = argv is None  # the llmc command itself, not a caller's function call
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("cc", "c++"):
        from llmcompiler.cli import cc

        return cc.run(argv[0], argv[1:], exec_clang=process)
    from llmcompiler.cli.report import error

    args = build_parser().parse_args(argv)
    try:
        with _signals_and_warnings():
            return args.run(args)
    except LLMCError as err:
        error(str(err))
        return err.exit_code
    except KeyboardInterrupt as err:
        error("interrupted")
        return 128 + signal.SIGTERM if isinstance(err, Terminated) else 130
    except BrokenPipeError:  # e.g. `llmc coreset show | head`: the reader left
        sys.stderr.close()
        return 0
