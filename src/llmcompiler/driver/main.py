"""``llmc cc`` / ``llmc c++`` (also ``llmc-cc`` / ``llmc-c++``): clang-19's command line in,
an object at least as small as ``clang -Oz``'s out.

The arguments are clang's, verbatim: a build passes its compiler nothing else, so
settings come from the environment (:class:`llmcompiler.driver.compile.Settings`). A
first argument that names clang (``llmc-cc /usr/bin/clang-19 -c x.c``, as a compiler
launcher is called) is dropped. Commands that are not ours
(:func:`llmcompiler.driver.argv.classify`) run as clang-19 (clang++-19) would run them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from llmcompiler.driver.argv import PASSTHROUGH, classify, strip_launcher
from llmcompiler.errors import LLMCError

# The compile and link modules are imported when a command needs them: a configure
# script runs the compiler a hundred times for probes that go to clang unchanged.


def main(argv: Sequence[str] | None = None, cxx: bool = False, exec_clang: bool = False) -> int:
    """Run one compiler command (``argv``: clang's arguments; default ``sys.argv[1:]``)
    as clang-19, or clang++-19 when ``cxx``. Returns the exit status: clang's for
    commands that are not ours and for the user's compile errors, 0 for a compile
    done, 3 when LLVM 19 is missing, 130 when interrupted. With ``exec_clang`` (the
    process is a compiler a build started) a command that is not ours replaces the
    process with clang, and does not return."""
    args, cxx = strip_launcher(sys.argv[1:] if argv is None else argv, cxx)
    name = "llmc c++" if cxx else "llmc cc"
    try:
        from llmcompiler.llvm.toolchain import tool

        if args == ["--show-stats"]:  # not a clang option: ccache's name for it
            return show_stats()
        driver = tool("clang++" if cxx else "clang")
        if any(a.startswith("-flto") for a in args):
            from llmcompiler.driver.link import lto_mode

            if lto_mode(args):  # whole-program mode (llmcompiler.driver.lto)
                from llmcompiler.driver.lto import run as run_lto

                return run_lto(args, driver, name)
        command = classify(args)
        if command.kind == PASSTHROUGH:
            if exec_clang:  # the process is the compiler: become clang
                return _exec([driver, *args])
            from llmcompiler.driver.compile import call

            return call([driver, *args])
        from llmcompiler.driver.compile import compile_command

        return compile_command(command, driver, name)
    except LLMCError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


def _exec(argv: list[str]) -> int:
    """Become ``argv`` (clang, for a command that is not ours): its exit status, output
    and signals are the build's directly, and no Python process waits beside it.

    Raises:
        LLMCError: it cannot be run.
    """
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(argv[0], argv)
    except OSError as err:
        raise LLMCError(f"cannot run {argv[0]}: {err.strerror or err}") from None
    return 127  # not reached


def show_stats() -> int:
    """Print the tuning database's statistics (:mod:`llmcompiler.driver.stats`); returns 0.

    Raises:
        InputError: there is no tuning database yet.
        LLMCError: it cannot be read, or $LLMC_CC_CACHE_SIZE is not a size.
    """
    import os

    from llmcompiler.driver.compile import Settings
    from llmcompiler.driver.db import TuningDB
    from llmcompiler.driver.stats import format_stats, statistics
    from llmcompiler.errors import InputError

    settings = Settings.from_environ(os.environ)
    if not settings.db.exists():
        raise InputError(f"{settings.db}: no tuning database yet (build with llmc cc first)")
    with TuningDB(settings.db) as db:
        print(format_stats(statistics(db), settings.cache_size))
    return 0


def cc_main() -> None:
    """The ``llmc-cc`` console script."""
    sys.exit(main(exec_clang=True))


def cxx_main() -> None:
    """The ``llmc-c++`` console script."""
    sys.exit(main(cxx=True, exec_clang=True))
