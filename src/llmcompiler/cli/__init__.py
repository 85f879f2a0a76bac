"""The ``llmc`` command: a thin layer over the library.

Results go to stdout, progress and messages to stderr. ``main(argv)`` returns the exit
code: 0 success, 1 some input failed, 2 usage error, 3 LLVM missing, 130 interrupted.

Each module here holds one group of commands: its ``add_commands(subparsers)`` adds them
and binds each to the function that runs it (``args.run``). Commands raise
:class:`~llmcompiler.errors.LLMCError` (``UsageError`` for a command line that cannot
work); :func:`main` is the one place that turns an exception into a message and an exit
code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from llmcompiler import __version__
from llmcompiler.cli import (
    autotune,
    corpus,
    dataset,
    evaluate,
    inspect,
    measure,
    narrow,
    optimize,
    passes,
    ranker,
    tasks,
    train,
)
from llmcompiler.cli.report import error
from llmcompiler.errors import LLMCError

#: the command groups, in the order ``llmc --help`` lists them
_GROUPS = (
    measure,
    optimize,
    autotune,
    corpus,
    dataset,
    inspect,
    narrow,
    ranker,
    tasks,
    train,
    evaluate,
    passes,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``llmc`` parser; each command sets ``run``, the function that runs it."""
    parser = argparse.ArgumentParser(
        prog="llmc", description="Optimize code size with language models and the real LLVM."
    )
    parser.add_argument("--version", action="version", version=f"llmc {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _GROUPS:
        group.add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``llmc`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    An :class:`LLMCError` becomes one error line (:func:`report.error`) and its
    ``exit_code`` (1; 2 for a usage error, 3 for missing LLVM); Ctrl-C becomes 130; a
    closed stdout (``llmc ... | head``) ends quietly with 0. argparse itself exits with 2
    for an unknown option.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except LLMCError as err:
        error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `llmc coreset show | head`: the reader left
        sys.stderr.close()
        return 0
