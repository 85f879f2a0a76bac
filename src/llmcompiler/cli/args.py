"""The options several commands share, each defined once here, and the checks and loading
that go with them: input files with -I and -D, --json, --jobs, --timeout, the results
cache, --objective, the search budget, --seed, --ray and -o with its output kind.

Numbers on the command line are read by :func:`positive_int` and :func:`positive_float`:
zero, negative, NaN and infinite values are usage errors (exit 2) before any work."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from llmcompiler.cli.report import error, note, progress
from llmcompiler.engine import ResultCache, default_jobs
from llmcompiler.engine.limits import MB_PER_WORKER, available_memory_mb, cores, worker_limit
from llmcompiler.errors import LLMCError, UsageError
from llmcompiler.program import Program, load_programs

#: -o suffix -> the output kind the evaluator writes
OUTPUT_KINDS = {".ll": "ir", ".bc": "bitcode", ".o": "object", ".s": "asm"}
#: the kinds of -o for a command that writes IR only
IR_KINDS = {".ll": "ir", ".bc": "bitcode"}

INPUT_HELP = ".c .cc .cpp .ll or .bc files"
RAY_HELP = "run on a Ray cluster (local: start a local Ray instance)"


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1.

    Raises:
        argparse.ArgumentTypeError: anything else (argparse makes it a usage error).
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0.

    Raises:
        argparse.ArgumentTypeError: anything else, NaN and infinity included.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


def add_inputs(
    parser: argparse.ArgumentParser, metavar: str = "FILE", help: str = INPUT_HELP
) -> None:
    """FILE... (``args.files``), then -I and -D."""
    parser.add_argument("files", nargs="+", metavar=metavar, help=help)
    add_preprocessor(parser)


def add_function_input(parser: argparse.ArgumentParser) -> None:
    """FILE (``args.file``), one program, and --function NAME to look at one function."""
    parser.add_argument("file", metavar="FILE", help=".c .cc .cpp .ll or .bc file")
    parser.add_argument("--function", metavar="NAME", help="only this function")


def add_preprocessor(parser: argparse.ArgumentParser) -> None:
    """-I DIR and -D NAME[=VALUE] (``args.include``, ``args.define``) for C/C++ sources."""
    parser.add_argument(
        "-I",
        dest="include",
        action="append",
        default=[],
        metavar="DIR",
        help="include directory for C/C++ sources",
    )
    parser.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="preprocessor definition for C/C++ sources",
    )


def add_json(parser: argparse.ArgumentParser, help: str = "print JSON instead of a table") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_jobs(
    parser: argparse.ArgumentParser, help: str = "worker processes (default: cores)"
) -> None:
    """--jobs/-j N; read it with :func:`job_count`."""
    parser.add_argument("--jobs", "-j", type=positive_int, default=None, metavar="N", help=help)


def job_count(args: argparse.Namespace) -> int:
    """``--jobs``, at most the workers this machine can hold (cores and memory:
    :func:`~llmcompiler.engine.limits.worker_limit`, with a note when it caps); the
    machine's default when not given."""
    if args.jobs is None:
        return default_jobs()
    limit = worker_limit()
    if args.jobs > limit:
        memory = available_memory_mb()
        shown = "unknown" if memory is None else f"{memory / 1024:.1f} GB"
        note(
            f"--jobs {args.jobs}: running {limit} workers ({cores()} cores, {shown} of memory "
            f"available, {MB_PER_WORKER} MB per worker)"
        )
        return limit
    return args.jobs


def add_timeout(
    parser: argparse.ArgumentParser, default: float = 120.0, help: str = "seconds per evaluation"
) -> None:
    parser.add_argument(
        "--timeout", type=positive_float, default=default, metavar="SECONDS", help=help
    )


def default_cache() -> str | None:
    """$LLMC_CACHE (empty: no cache), else ~/.cache/llmcompiler/results.sqlite (under
    $XDG_CACHE_HOME when it is set)."""
    if os.environ.get("LLMC_CACHE") is not None:
        return os.environ["LLMC_CACHE"] or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return os.path.join(base, "llmcompiler", "results.sqlite")


def add_cache(parser: argparse.ArgumentParser, opt_in_help: str | None = None) -> None:
    """--cache PATH: the shared results cache, on by default (see :func:`default_cache`) and
    turned off with --no-cache; or, given ``opt_in_help``, a cache used only when named."""
    if opt_in_help is not None:
        parser.add_argument("--cache", default=None, metavar="PATH", help=opt_in_help)
        return
    parser.add_argument(
        "--cache",
        default=default_cache(),
        metavar="PATH",
        help="SQLite results cache (default: $LLMC_CACHE or ~/.cache/llmcompiler/results.sqlite)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")


def open_cache(path: str | None) -> ResultCache | None:
    """The results cache at ``path``, or None for no path; the caller closes it. A cache
    that cannot be made, read or written warns once and the run goes on without it
    (:class:`~llmcompiler.engine.cache.ResultCache`)."""
    if not path:
        return None
    return ResultCache(path)


def add_batch(parser: argparse.ArgumentParser) -> None:
    """What ``size``, ``opt`` and ``optimize`` share: inputs, --json, --jobs, --timeout and
    the results cache."""
    add_inputs(parser)
    add_json(parser)
    add_jobs(parser)
    add_timeout(parser)
    add_cache(parser)


def add_objective(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--objective",
        choices=("size", "instcount"),
        default="size",
        help="binary size (default) or IR instruction count",
    )


def add_budget(
    parser: argparse.ArgumentParser,
    default: float | None,
    seconds_help: str | None = None,
    evaluations_help: str | None = None,
    per_program: bool = False,
) -> None:
    """--budget SECONDS and --evaluations N (``args.budget``, ``args.evaluations``): when
    a search stops. ``per_program`` names them --budget-per-program and
    --evaluations-per-program."""
    suffix = "-per-program" if per_program else ""
    parser.add_argument(
        f"--budget{suffix}",
        dest="budget",
        type=positive_float,
        default=default,
        metavar="SECONDS",
        help=seconds_help,
    )
    parser.add_argument(
        f"--evaluations{suffix}",
        dest="evaluations",
        type=positive_int,
        default=None,
        metavar="N",
        help=evaluations_help,
    )


def add_seed(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument("--seed", type=int, default=0, help=help)


def add_ray(parser: argparse.ArgumentParser, help: str = RAY_HELP) -> None:
    parser.add_argument("--ray", metavar="auto|ADDRESS|local", help=help)


def add_output(parser: argparse.ArgumentParser, help: str) -> None:
    """-o/--output OUT, a file whose suffix says what to write; check it with
    :func:`output_kind`."""
    parser.add_argument("-o", "--output", metavar="OUT", help=help)


def output_kind(
    output: str | None, inputs: int = 1, kinds: Mapping[str, str] = OUTPUT_KINDS
) -> str | None:
    """The kind of output ``-o OUTPUT`` asks for (a value of ``kinds``); None without -o.
    Checks that the file can be written (:func:`check_writable`), before any work.

    Raises:
        UsageError: -o with more than one input file, a suffix that is not in ``kinds``, or
            a file that cannot be written.
    """
    if not output:
        return None
    if inputs > 1:
        raise UsageError("-o takes one input file")
    kind = kinds.get(Path(output).suffix)
    if kind is None:
        listed = " or ".join(kinds) if len(kinds) == 2 else ", ".join(kinds)
        raise UsageError(f"{output}: output must end in {listed}")
    check_writable(output)
    return kind


def check_writable(path: str) -> None:
    """Check that a file can be written at ``path``, by making (and removing) a file in its
    folder: the folder exists, is a folder and takes new files, and ``path`` is no folder.

    Raises:
        UsageError: naming the path and why it cannot be written.
    """
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise UsageError(f"{path}: cannot write: is a directory")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{path}: cannot write: permission denied")
    if not os.path.isdir(folder):
        why = "is not a directory" if os.path.exists(folder) else "no such directory"
        raise UsageError(f"{path}: cannot write: {folder}: {why}")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".llmc-probe-"):
            pass
    except OSError as err:
        raise UsageError(f"{path}: cannot write: {err.strerror or err}") from None


def write_output(path: str, data: bytes) -> None:
    """Write ``data`` to ``path``.

    Raises:
        LLMCError: the file cannot be written (the disk is full, the folder went away).
    """
    try:
        Path(path).write_bytes(data)
    except OSError as err:
        raise LLMCError(f"{path}: cannot write: {err.strerror or err}") from None


class Inputs:
    """The input files of a command (``args.files`` with -I and -D), loaded ``jobs`` at a
    time behind a progress bar.

    Iterating yields each :class:`Program` that loads, in input order; each file that does
    not is reported with :func:`report.error` and counted in ``failed``. ``loaded`` holds,
    for every file iterated so far, in input order, its Program or its error. Iterating
    raises LLVMNotFoundError when LLVM is missing.
    """

    def __init__(self, args: argparse.Namespace, jobs: int, desc: str = "loading") -> None:
        self.files: list[str] = args.files
        self.include: list[str] = args.include
        self.define: list[str] = args.define
        self.jobs = jobs
        self.desc = desc
        self.failed = 0
        self.loaded: list[tuple[str, Program | LLMCError]] = []

    def __iter__(self) -> Iterator[Program]:
        loading = load_programs(self.files, self.include, self.define, jobs=self.jobs)
        for path, program in progress(loading, len(self.files), self.desc):
            self.loaded.append((path, program))
            if isinstance(program, LLMCError):
                error(str(program))
                self.failed += 1
            else:
                yield program
