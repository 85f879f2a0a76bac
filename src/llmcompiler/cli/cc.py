"""``llmc cc`` and ``llmc c++``: drop-in replacements for clang-19 and clang++-19.

They take clang's arguments verbatim, so :func:`llmcompiler.cli.main` hands them to
:func:`run` before argparse sees them; :func:`add_commands` only lists them in
``llmc --help``. The work is in :mod:`llmcompiler.driver`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

#: the commands, and whether each is C++
COMMANDS = {"cc": False, "c++": True}


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """List ``cc`` and ``c++`` in ``llmc --help`` (they never reach argparse)."""
    for name, cxx in COMMANDS.items():
        compiler = "clang++-19" if cxx else "clang-19"
        subparsers.add_parser(
            name,
            help=f"compile like {compiler}, with tuned pass lists (CC='llmc {name}')",
            add_help=False,
        )


def run(command: str, argv: Sequence[str], exec_clang: bool = False) -> int:
    """Run ``llmc cc ARGS`` or ``llmc c++ ARGS``; returns the exit status (with
    ``exec_clang``, a command that is not ours becomes clang and does not return)."""
    from llmcompiler.driver.main import main

    return main(argv, cxx=COMMANDS[command], exec_clang=exec_clang)
