"""Tuning a build's modules again with a larger budget: ``llmc autotune --from-build``.

A build with ``llmc cc`` searches each new module for about a second
(``$LLMC_CC_BUDGET``), and a module too large for that not at all (``large``). Its
tuning database logs every compile: the working directory, the arguments and the
source (:meth:`~llmcompiler.driver.db.TuningDB.compiles`); CMake's
``compile_commands.json`` holds the same. From either, each module is rebuilt exactly
as the driver builds it (:func:`~llmcompiler.driver.compile.ir_argv`, in the command's
directory, without writing the dependency file), keyed as the driver keys it
(:func:`~llmcompiler.driver.compile.module_key`), searched for the larger budget, and
measured with the command's own flags against clang -Oz
(:func:`~llmcompiler.driver.compile.measured_entry`). The result is stored under the
same key with source "autotune"; :meth:`~llmcompiler.driver.db.TuningDB.store` keeps
the better entry, so the next build of the same module hits the better list.

Modules are tuned in local processes, ``jobs`` at once; the database is written by the
calling process alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from llmcompiler.driver.argv import COMPILE, Command, Source, classify, strip_launcher
from llmcompiler.driver.compile import (
    TOOL_TIMEOUT,
    describe_failure,
    ir_argv,
    measured_entry,
    module_key,
    search_module,
)
from llmcompiler.driver.db import Entry, Key, TuningDB
from llmcompiler.errors import InputError, LLMCError
from llmcompiler.llvm.toolchain import failure_line
from llmcompiler.program import Program

#: the logged outcomes whose command compiled a module (an ``error`` is the user's)
RETUNED_OUTCOMES = ("miss", "hit", "large", "fallback")


@dataclass(frozen=True)
class BuildCommand:
    """One compile of a build, as the log or a compilation database records it.

    Attributes:
        cwd: the directory it ran in.
        args: clang's arguments, without the compiler.
        source: the source it compiled (as the command, or the database, names it).
        cxx: compiled by clang++ (``llmc c++``).
    """

    cwd: str
    args: tuple[str, ...]
    source: str
    cxx: bool = False


@dataclass(frozen=True)
class BuildModule:
    """A command's module, rebuilt: what a tuning process needs. ``name`` is the source
    and its object, as the command names them: ``util.c (util.pic.o)``."""

    name: str
    cwd: str
    driver: str
    command: Command
    ir_path: str
    program: Program
    key: Key


@dataclass(frozen=True)
class Retuned:
    """What tuning one module did. ``before`` and ``after`` are the objective's measure
    (bytes of text + data, or IR instructions) of the stored entry before and after
    (before: clang -Oz's when none was stored); ``stored`` says the new entry was
    better and replaced it; ``error`` says why the module failed (the rest is None)."""

    name: str
    before: int | None = None
    after: int | None = None
    oz: int | None = None
    stored: bool = False
    pipeline: str = ""
    error: str = ""

    @property
    def improvement_pct(self) -> float:
        """How much smaller ``after`` is than ``before``, in percent (0 when unknown)."""
        if not self.before or self.after is None:
            return 0.0
        return 100.0 * (self.before - self.after) / self.before


def commands_from_log(db: TuningDB) -> list[BuildCommand]:
    """The distinct compile commands of the database's log that compiled a module
    (:data:`RETUNED_OUTCOMES`), oldest first; link rows (whole-program mode) are left
    out."""
    seen: dict[BuildCommand, None] = {}
    for row in db.compiles():
        if row["outcome"] not in RETUNED_OUTCOMES:
            continue
        command = BuildCommand(
            row["cwd"], tuple(row["argv"]), row["source"], row["compiler"] == "c++"
        )
        if classify(command.args).kind == COMPILE:
            seen.setdefault(command)
    return list(seen)


def commands_from_compile_commands(path: str | os.PathLike) -> list[BuildCommand]:
    """The compile commands of a compilation database (CMake's
    ``compile_commands.json``: entries with ``directory``, ``file`` and ``arguments``,
    or ``command`` as one shell-quoted string). The compiler (the first argument, and a
    clang after a launcher) is dropped; a name with ``++`` means C++.

    Raises:
        InputError: the file cannot be read, is not JSON, or an entry lacks a field.
    """
    try:
        entries = json.loads(Path(path).read_text())
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a compilation database: {err}") from None
    if not isinstance(entries, list):
        raise InputError(f"{path}: not a compilation database (expected a JSON list)")
    out: dict[BuildCommand, None] = {}
    for i, entry in enumerate(entries):
        try:
            argv = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
            cwd, source = entry["directory"], entry["file"]
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{path}: entry {i}: no {err} (directory, file, command)") from None
        if not argv:
            raise InputError(f"{path}: entry {i}: an empty command")
        compiler, args = argv[0], list(argv[1:])
        if os.path.basename(compiler) == "llmc" and args[:1] in (["cc"], ["c++"]):
            compiler, args = args[0], args[1:]
        args, cxx = strip_launcher(args, "++" in os.path.basename(compiler))
        out.setdefault(BuildCommand(cwd, tuple(args), source, cxx))
    return list(out)


def prepare(command: BuildCommand, objective: str, folder: str) -> BuildModule:
    """Rebuild ``command``'s module as the driver builds it, into ``folder``.

    Raises:
        LLMCError: the command is not a compile llmc cc tunes, its directory is gone,
            clang fails on it, or its IR does not verify.
    """
    from llmcompiler.llvm.toolchain import tool
    from llmcompiler.program import program_from_ir

    parsed = classify(command.args)
    if parsed.kind != COMPILE:
        raise LLMCError(f"not a compile llmc cc tunes ({parsed.reason})")
    source = _source(parsed, command)
    parsed = replace(parsed, dependency=())  # the build's own .d file is left alone
    driver = tool("clang++" if command.cxx else "clang")
    ir_path = os.path.join(folder, "input.bc")
    try:
        proc = subprocess.run(
            ir_argv(driver, parsed, source, ir_path),
            cwd=command.cwd,
            capture_output=True,
            timeout=TOOL_TIMEOUT,
        )
    except OSError as err:
        raise LLMCError(f"{command.cwd}: cannot run there: {err.strerror or err}") from None
    except subprocess.TimeoutExpired:
        raise LLMCError(f"clang timed out after {TOOL_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        raise LLMCError(f"clang failed: {failure_line(proc.stderr)}")
    program = program_from_ir(Path(ir_path).read_bytes(), source.path)
    key = module_key(program, parsed, objective)
    name = f"{source.path} ({source.output})"
    return BuildModule(name, command.cwd, driver, parsed, ir_path, program, key)


def _source(parsed: Command, command: BuildCommand) -> Source:
    """The source of ``parsed`` that ``command`` names (one command may compile several).

    Raises:
        LLMCError: none of its sources is that file.
    """
    wanted = os.path.normpath(os.path.join(command.cwd, command.source))
    for source in parsed.sources:
        if os.path.normpath(os.path.join(command.cwd, source.path)) == wanted:
            return source
    if len(parsed.sources) == 1:
        return parsed.sources[0]
    raise LLMCError(f"the command does not compile {command.source}")


def tune_module(module: BuildModule, seconds: float) -> Entry:
    """Search ``module`` for ``seconds`` and measure the result with its command's flags
    (in the command's directory); returns the entry to store (source "autotune").

    Raises:
        LLMCError: the search or code generation failed.
    """
    with contextlib.chdir(module.cwd):
        result = search_module(module.program, module.key.objective, seconds)
        folder = os.path.dirname(module.ir_path)
        entry, _ = measured_entry(
            module.driver,
            module.command,
            module.ir_path,
            module.program.triple,
            result,
            folder,
            seconds,
            "autotune",
        )
    return entry


def _tune_quietly(module: BuildModule, seconds: float) -> Entry | str:
    """:func:`tune_module` in a tuning process: the entry, or why it failed."""
    try:
        return tune_module(module, seconds)
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - one module's failure is reported, the rest go on
        return describe_failure(err)


def retune(
    commands: Sequence[BuildCommand],
    db: TuningDB,
    objective: str = "size",
    seconds: float = 10.0,
    jobs: int = 1,
    ray_address: str | None = None,
) -> Iterator[Retuned]:
    """Tune every command's module for ``seconds`` (``jobs`` processes at once, or as
    Ray tasks on the cluster at ``ray_address``: "local", "auto" or an address) and
    store each result in ``db`` under the driver's key; yield a :class:`Retuned` per
    module as it ends (a module that several commands compile is tuned once).

    Raises:
        LLMCError: the database cannot be written, a tuning process died, or Ray is
            not installed.
    """
    with tempfile.TemporaryDirectory(prefix="llmc-retune-") as tmp:
        modules: dict[Key, BuildModule] = {}
        for i, command in enumerate(commands):
            folder = os.path.join(tmp, str(i))
            os.mkdir(folder)
            try:
                module = prepare(command, objective, folder)
            except LLMCError as err:
                yield Retuned(command.source, error=str(err))
                continue
            modules.setdefault(module.key, module)
        todo = list(modules.values())
        runs = _run_ray(todo, seconds, ray_address) if ray_address else _run(todo, seconds, jobs)
        for module, found in runs:
            if isinstance(found, str):
                yield Retuned(module.name, error=found)
                continue
            old = db.lookup(module.key)
            stored = db.store(module.key, found)
            kept = found if stored or old is None else old
            yield Retuned(
                module.name,
                _measure(old if old is not None else found, objective, oz=old is None),
                _measure(kept, objective),
                _measure(found, objective, oz=True),
                stored,
                kept.pipeline,
            )


def _measure(entry: Entry, objective: str, oz: bool = False) -> int | None:
    """The objective's measure of ``entry`` (or of its -Oz, when ``oz``)."""
    if objective == "instcount":
        return entry.oz_instcount if oz else entry.instcount
    return entry.oz_size if oz else entry.size


def _tune_shipped(module: BuildModule, ir: bytes, seconds: float) -> Entry | str:
    """:func:`_tune_quietly` on a machine that may not hold the build's files (a Ray
    worker): the module's IR comes with the task, and the command runs in its folder
    where that exists there, else in a temporary one (the IR needs no sources)."""
    with tempfile.TemporaryDirectory(prefix="llmc-retune-") as tmp:
        path = os.path.join(tmp, "input.bc")
        Path(path).write_bytes(ir)
        cwd = module.cwd if os.path.isdir(module.cwd) else tmp
        return _tune_quietly(replace(module, ir_path=path, cwd=cwd), seconds)


def _run_ray(
    modules: list[BuildModule], seconds: float, address: str
) -> Iterator[tuple[BuildModule, Entry | str]]:
    """Tune the modules as Ray tasks (one CPU each) on the cluster at ``address``; yield
    (module, entry or why it failed) as each ends. Tasks still running when the caller
    stops are cancelled.

    Raises:
        LLMCError: Ray is not installed.
    """
    from llmcompiler.engine import parallel

    ray = parallel.connect(address)
    remote = ray.remote(num_cpus=1)(_tune_shipped)
    refs = {remote.remote(m, Path(m.ir_path).read_bytes(), seconds): m for m in modules}
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            module = refs.pop(ready[0])
            try:
                found = ray.get(ready[0])
            except Exception as err:  # noqa: BLE001 - a lost worker fails its module only
                found = f"the Ray task failed: {type(err).__name__}: {err}"
            yield module, found
    finally:
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def _run(
    modules: list[BuildModule], seconds: float, jobs: int
) -> Iterator[tuple[BuildModule, Entry | str]]:
    """Tune the modules, in this process for one job, else in ``jobs`` processes;
    yield (module, entry or why it failed) as each ends.

    Raises:
        LLMCError: a tuning process died.
    """
    if jobs <= 1 or len(modules) <= 1:
        for module in modules:
            yield module, _tune_quietly(module, seconds)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending = {pool.submit(_tune_quietly, m, seconds): m for m in modules}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    module = pending.pop(future)
                    try:
                        found = future.result()
                    except BrokenProcessPool:
                        raise LLMCError(
                            "a tuning process died (killed, or out of memory)"
                        ) from None
                    yield module, found
        finally:  # stopped early or interrupted: start nothing more
            for future in pending:
                future.cancel()
