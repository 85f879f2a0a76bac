"""The options several commands share, each defined once here, and the checks and loading
that go with them: input files with -I, -D and the target options (--target, -mcpu=...),
--json, --jobs, --timeout, the results cache, --objective, the search budget, --seed, --ray
and -o with its output kind.

Numbers on the command line are read by :func:`positive_int` and :func:`positive_float`:
zero, negative, NaN and infinite values are usage errors (exit 2) before any work."""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from llmcompiler.cli.report import error, note, progress, warning
from llmcompiler.engine import ResultCache, default_jobs
from llmcompiler.engine.limits import MB_PER_WORKER, available_memory_mb, cores, worker_limit
from llmcompiler.errors import CompileError, LLMCError, UsageError
from llmcompiler.llvm.sysroots import header_flags, missing_headers_hint, triple_in
from llmcompiler.llvm.target import target
from llmcompiler.program import IR_SUFFIXES, Program, load_programs

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
    return _finite_float(text, zero=False)


def non_negative_float(text: str) -> float:
    """argparse type: a finite number of at least 0.

    Raises:
        argparse.ArgumentTypeError: anything else, NaN and infinity included.
    """
    return _finite_float(text, zero=True)


def _finite_float(text: str, zero: bool) -> float:
    """``text`` as a finite number above 0 (or at least 0 when ``zero``).

    Raises:
        argparse.ArgumentTypeError: anything else, NaN and infinity included.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value >= 0 if zero else value > 0)):
        wanted = "a number of at least 0" if zero else "a positive number"
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}")
    return value


def add_inputs(
    parser: argparse.ArgumentParser, metavar: str = "FILE", help: str = INPUT_HELP
) -> None:
    """FILE... (``args.files``), then -I and -D, then the target options (:func:`add_target`)."""
    parser.add_argument("files", nargs="+", metavar=metavar, help=help)
    add_preprocessor(parser)
    add_target(parser)


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


#: The target options: each option string -> how clang-19 spells it, with its value.
_CLANG_SPELLING = {
    "--target": ("--target={}",),
    "-target": ("--target={}",),
    "-mcpu": ("-mcpu={}",),
    "-march": ("-march={}",),
    "-mfloat-abi": ("-mfloat-abi={}",),
    "-mabi": ("-mabi={}",),
    "--sysroot": ("--sysroot={}",),
    "-isystem": ("-isystem", "{}"),
}
TARGET_HELP = (
    "Passed to clang-19 for C/C++ sources as given, in order. Defaults: $LLMC_TARGET (a "
    "triple) and $LLMC_TARGET_FLAGS (clang flags, shell-quoted), which the command line's "
    "flags follow (clang takes the last -mcpu, -march...); a --target on the command line "
    "drops both. For a bare-metal target without --sysroot or -isystem, Debian's picolibc "
    "headers are added when installed (see llmc targets). .ll and .bc files keep their own "
    "triple and CPU."
)


class _ClangFlag(argparse.Action):
    """Appends the option, spelled as clang-19 takes it, to ``args.target_flags``: the
    target options keep their command-line order among themselves."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        flags = list(getattr(namespace, self.dest) or [])
        flags += [part.format(values) for part in _CLANG_SPELLING[option_string]]
        setattr(namespace, self.dest, flags)


def add_target(parser: argparse.ArgumentParser) -> None:
    """--target TRIPLE (also -target), -mcpu=, -march=, -mfloat-abi=, -mabi=, --sysroot=
    and -isystem DIR for C/C++ sources (``args.target_flags``, clang's spelling, in order);
    read them with :func:`compile_flags`."""
    group = parser.add_argument_group("target of C/C++ sources", TARGET_HELP)
    options = (
        (("--target", "-target"), "TRIPLE", "compile for this target (e.g. aarch64-linux-gnu)"),
        (("-mcpu",), "CPU", "-mcpu=CPU (e.g. cortex-m4)"),
        (("-march",), "ARCH", "-march=ARCH (e.g. rv32imac)"),
        (("-mfloat-abi",), "ABI", "-mfloat-abi=soft|softfp|hard"),
        (("-mabi",), "ABI", "-mabi=ABI (e.g. ilp32)"),
        (("--sysroot",), "DIR", "--sysroot=DIR: the target's headers"),
        (("-isystem",), "DIR", "-isystem DIR: a system include directory"),
    )
    for names, metavar, help in options:
        group.add_argument(
            *names, dest="target_flags", action=_ClangFlag, default=[], metavar=metavar, help=help
        )


def compile_flags(args: argparse.Namespace) -> list[str]:
    """The flags clang-19 gets for C/C++ sources after the others: $LLMC_TARGET and
    $LLMC_TARGET_FLAGS unless the command line names a --target, then the command line's
    target options (``args.target_flags``) in order, then the headers a bare-metal target
    needs (:func:`~llmcompiler.llvm.sysroots.header_flags`).

    Raises:
        UsageError: $LLMC_TARGET_FLAGS cannot be split (an unclosed quote).
    """
    given = list(getattr(args, "target_flags", None) or [])
    if triple_in(given) is None:
        default = [f"--target={os.environ['LLMC_TARGET']}"] if os.environ.get("LLMC_TARGET") else []
        try:
            default += shlex.split(os.environ.get("LLMC_TARGET_FLAGS", ""))
        except ValueError as err:
            raise UsageError(f"LLMC_TARGET_FLAGS: {err}") from None
        given = default + given
    return given + header_flags(given)


def _same_target(a: str, b: str) -> bool:
    """Whether two triples name one target (LLVM's normalized parts; the vendor and an
    os version such as macosx14.0 aside)."""
    ta, tb = target(a), target(b)

    def key(t):
        return t.arch, re.sub(r"[\d.]+$", "", t.os), t.environment

    return key(ta) == key(tb)


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
    """The input files of a command (``args.files`` with -I, -D and the target options),
    loaded ``jobs`` at a time behind a progress bar.

    Iterating yields each :class:`Program` that loads, in input order; each file that does
    not is reported with :func:`report.error` and counted in ``failed`` (once per run, a
    header clang did not find is followed by a note on where the target's headers come
    from). ``loaded`` holds, for every file iterated so far, in input order, its Program
    or its error. A ``--target`` that a .ll/.bc file's own triple differs from is warned
    about once. Iterating raises LLVMNotFoundError when LLVM is missing.

    Raises:
        UsageError: $LLMC_TARGET_FLAGS cannot be split (:func:`compile_flags`).
    """

    def __init__(self, args: argparse.Namespace, jobs: int, desc: str = "loading") -> None:
        self.files: list[str] = args.files
        self.include: list[str] = args.include
        self.define: list[str] = args.define
        self.flags = compile_flags(args)
        self.given_triple = triple_in(getattr(args, "target_flags", None) or [])
        self.jobs = jobs
        self.desc = desc
        self.failed = 0
        self.loaded: list[tuple[str, Program | LLMCError]] = []

    def __iter__(self) -> Iterator[Program]:
        loading = load_programs(
            self.files, self.include, self.define, jobs=self.jobs, flags=self.flags
        )
        hinted = warned = False
        for path, program in progress(loading, len(self.files), self.desc):
            self.loaded.append((path, program))
            if isinstance(program, LLMCError):
                error(str(program))
                self.failed += 1
                if isinstance(program, CompileError) and not hinted:
                    hint = missing_headers_hint(self.flags, str(program))
                    if hint:
                        note(hint)
                        hinted = True
                continue
            if (
                self.given_triple
                and not warned
                and Path(path).suffix in IR_SUFFIXES
                and not _same_target(self.given_triple, program.triple)
            ):
                warning(
                    f"--target {self.given_triple} applies to C/C++ sources only: {path} "
                    f"and other .ll/.bc files keep their own triple ({program.triple})"
                )
                warned = True
            yield program
