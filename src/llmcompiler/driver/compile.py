"""Compiling one C/C++ source the way ``llmc cc`` does: IR, tuned pass list, object.

For each source of a compile command:

1. **IR**: clang-19 with the user's flags and ``-Oz -Xclang -disable-llvm-passes
   -emit-llvm`` writes the unoptimized module (its functions marked minsize/optsize).
   This run also writes the user's dependency file, named for the user's object. If it
   fails, that is the user's compile error: clang's diagnostics went to stderr
   unchanged, and its exit status is returned.
2. **Pass list**: the module's hash, triple, the codegen key of the flags and the
   objective look up the build's tuning database (:mod:`llmcompiler.driver.db`). A hit
   applies the stored list with opt-19. A miss searches within ``$LLMC_CC_BUDGET``
   seconds (the built-in model's lists first, then the target's coreset, then
   evolution), keeps the result only where the object is smaller than ``clang -Oz``'s
   with the same options, and stores it. The budget follows the module's size
   (:func:`llmcompiler.search.budget.plan`): raised to afford a few evaluations of a
   larger module, up to ``$LLMC_CC_MAX_BUDGET`` seconds (the most one module's search
   takes, default 10). A module too large even for that is compiled with clang's -Oz
   pipeline, logged ``large``, and stored as -Oz (source "large": the next build hits
   it; ``llmc autotune --from-build`` tunes it, and a better list replaces it).
3. **Object**: clang-19 with the user's flags compiles the tuned bitcode
   (``-x ir``, no LLVM passes), so every code generation option applies.

Any failure of llmc's own (an exception, a timeout, a pass list opt rejects, failed
code generation, an unusable database) prints one warning line and runs the user's
command at ``-Oz`` instead (:meth:`Command.fallback_args`). Every compile is logged.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmcompiler.driver.argv import Command, Source, codegen_key, size_level
from llmcompiler.driver.db import Entry, Key, TuningDB, database_path
from llmcompiler.errors import EvaluationError, LLMCError

#: seconds of search for a module the database does not know
BUDGET_VARIABLE = "LLMC_CC_BUDGET"
DEFAULT_BUDGET = 1.0
#: the most seconds a miss's budget may be raised to for a large module; a module whose
#: few evaluations cost more is not searched at build time (logged "large")
MAX_BUDGET_VARIABLE = "LLMC_CC_MAX_BUDGET"
DEFAULT_MAX_BUDGET = 10.0
#: "size" (binary size, the default) or "instcount" (IR instructions)
OBJECTIVE_VARIABLE = "LLMC_CC_OBJECTIVE"
#: the most bytes of objects the database keeps for hits (suffix K, M or G; 0: none)
CACHE_SIZE_VARIABLE = "LLMC_CC_CACHE_SIZE"
DEFAULT_CACHE_SIZE = "2G"
#: tests only: "1" makes every compile fail inside llmc (after the IR step)
FAIL_VARIABLE = "LLMC_CC_FAIL"
#: seconds one evaluation of a pass list may take during a miss's search
EVALUATION_TIMEOUT = 60.0
#: seconds a clang-19 or opt-19 run of llmc's own may take
TOOL_TIMEOUT = 600.0
#: keeps clang quiet about the front-end flags (-I, -D, -std...) the IR input ignores
QUIET = "-Wno-unused-command-line-argument"


@dataclass(frozen=True)
class Settings:
    """How ``llmc cc`` tunes, from the environment (a build passes no other options).

    Attributes:
        db: the tuning database file ($LLMC_CC_DB, else in the user's cache folder).
        budget: seconds of search for a module the database does not know
            ($LLMC_CC_BUDGET; 0 tries -Oz alone, and stores it).
        objective: "size" or "instcount" ($LLMC_CC_OBJECTIVE).
        fail: fail inside llmc on purpose ($LLMC_CC_FAIL=1; for tests of the fallback).
        max_budget: the most seconds one module's search may take ($LLMC_CC_MAX_BUDGET):
            ``budget`` is raised up to it for a large module, and cut to it when larger;
            a module too large to search within it is not searched.
        cache_size: the most bytes of objects kept for hits ($LLMC_CC_CACHE_SIZE, e.g.
            500M or 2G as ccache writes it; 0 keeps none): a hit whose object is kept
            costs the front end alone, no pass list and no code generation.
    """

    db: Path
    budget: float = DEFAULT_BUDGET
    objective: str = "size"
    fail: bool = False
    max_budget: float = DEFAULT_MAX_BUDGET
    cache_size: int = 2 << 30

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings.

        Raises:
            LLMCError: a budget that is not a non-negative number, or an unknown objective.
        """
        budget = _seconds(environ, BUDGET_VARIABLE, DEFAULT_BUDGET)
        max_budget = _seconds(environ, MAX_BUDGET_VARIABLE, DEFAULT_MAX_BUDGET)
        objective = environ.get(OBJECTIVE_VARIABLE) or "size"
        if objective not in ("size", "instcount"):
            raise LLMCError(f"{OBJECTIVE_VARIABLE}={objective!r}: expected size or instcount")
        fail = environ.get(FAIL_VARIABLE, "") not in ("", "0")
        cache = _bytes(environ, CACHE_SIZE_VARIABLE, DEFAULT_CACHE_SIZE)
        return cls(database_path(environ), budget, objective, fail, max_budget, cache)


def _bytes(environ: Mapping[str, str], name: str, default: str) -> int:
    """The size in ``$name``: bytes, or a number with K, M or G (powers of 1024).

    Raises:
        LLMCError: not such a size.
    """
    text = (environ.get(name) or default).strip()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    value = _non_negative(text[:-1] if scale > 1 else text)
    if value is None:
        raise LLMCError(f"{name}={text!r} is not a size (e.g. 500M or 2G)")
    return int(value * scale)


def _non_negative(text: str) -> float | None:
    """``text`` as a finite, non-negative number, else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """The number of seconds in ``$name`` (``default`` when unset or empty).

    Raises:
        LLMCError: not a finite, non-negative number.
    """
    text = environ.get(name) or str(default)
    value = _non_negative(text)
    if value is None:
        raise LLMCError(f"{name}={text!r} is not a number of seconds")
    return value


def compile_command(
    command: Command, driver: str, name: str = "llmc cc", environ: Mapping[str, str] | None = None
) -> int:
    """Compile every source of ``command`` (:func:`compile_source`); returns 0, or the
    first non-zero status (like clang, every source is compiled even after an error)."""
    env = os.environ if environ is None else environ
    statuses = [compile_source(command, s, driver, name, env) for s in command.sources]
    return next((s for s in statuses if s), 0)


def compile_source(
    command: Command, source: Source, driver: str, name: str, environ: Mapping[str, str]
) -> int:
    """Compile one source to its object (the module docstring tells how); returns the
    exit status: 0, clang's status for the user's compile error, or the fallback's."""
    start = time.monotonic()
    row = {
        "cwd": os.getcwd(),
        "compiler": name.removeprefix("llmc "),
        "argv": command.args,
        "source": source.path,
        "output": source.output,
    }
    with tempfile.TemporaryDirectory(prefix="llmc-cc-") as tmp:
        ir_path = os.path.join(tmp, "input.bc")
        status = call(ir_argv(driver, command, source, ir_path))
        if status != 0:  # the user's compile error: clang has said why
            message = f"clang exited with status {status}"
            _log_quietly(environ, {**row, "outcome": "error", "message": message}, start)
            return status
        try:
            settings = Settings.from_environ(environ)
            if settings.fail:
                raise LLMCError(f"forced failure ({FAIL_VARIABLE}=1)")
            with TuningDB(settings.db) as db:
                fields = _tune_and_emit(db, settings, command, source, driver, ir_path, tmp)
                db.log({**row, **fields, "seconds": time.monotonic() - start})
            return 0
        except KeyboardInterrupt:
            raise
        except Exception as err:  # noqa: BLE001 - whatever fails inside llmc, the build goes on
            why = describe_failure(err)
    print(f"{name}: warning: {source.path}: {why}; compiled with clang -Oz", file=sys.stderr)
    sys.stderr.flush()
    status = call([driver, *command.fallback_args(source)])
    _log_quietly(environ, {**row, "outcome": "fallback", "message": why}, start)
    return status


def ir_argv(driver: str, command: Command, source: Source, ir_path: str) -> list[str]:
    """clang-19's command line that writes ``source``'s unoptimized module (functions
    marked for size) to ``ir_path``, and the user's dependency file as clang would."""
    path = source.path if not source.path.startswith("-") else os.path.join(".", source.path)
    return [
        driver,
        *size_level(command.opt_level),
        *command.flags,
        *("-Xclang", "-disable-llvm-passes", "-emit-llvm"),
        *command.dependency_flags(source),
        *(("-x", source.language) if source.explicit else ()),
        *("-c", path, "-o", ir_path),
    ]


def object_argv(
    driver: str, command: Command, bitcode: str, output: str, oz: bool = False
) -> list[str]:
    """clang-19's command line that compiles ``bitcode`` to ``output`` with the user's
    flags: as it is (LLVM passes disabled: the pass list ran already), or through
    clang's own -Oz pipeline when ``oz``."""
    passes = () if oz else ("-Xclang", "-disable-llvm-passes")
    return [
        driver,
        *size_level(command.opt_level),
        *command.flags,
        QUIET,
        *passes,
        *("-c", "-x", "ir", bitcode, "-o", output),
    ]


def call(argv: list[str]) -> int:
    """Run a command with this process's standard streams; returns its exit status
    (128 + N when signal N killed it, as a shell reports it)."""
    status = subprocess.call(argv)
    return 128 - status if status < 0 else status


def _tune_and_emit(
    db: TuningDB,
    settings: Settings,
    command: Command,
    source: Source,
    driver: str,
    ir_path: str,
    tmp: str,
) -> dict:
    """Look the module up, apply or search its pass list, write the object; returns the
    log fields of the outcome (hit, miss, or large: too large to search now).

    Raises:
        LLMCError: the module, the database, a pass list or code generation failed.
    """
    ir = Path(ir_path).read_bytes()
    kept = object_key(ir, command, driver, settings.objective)
    cached = db.cached_object(kept) if settings.cache_size else None
    if cached is not None:  # a hit whose object is kept: no libLLVM, opt or codegen
        obj, key, entry = cached
        _write(source.output, obj)
        return {**_key_fields(key), "outcome": "hit", "size": entry.size, "oz_size": entry.oz_size}
    fields, key, pipeline, obj = _tune_and_emit_module(
        db, settings, command, source, driver, ir, ir_path, tmp
    )
    _write(source.output, obj)
    if settings.cache_size:
        db.store_object(kept, key, pipeline, obj, fields["size"], settings.cache_size)
    return fields


def object_key(ir: bytes, command: Command, driver: str, objective: str) -> str:
    """The key an object is kept under: everything that makes it, but the pass list
    (checked against the database's list when it is read): the module as clang wrote it
    (with its source file name, and its debug information's paths), the compiler, the
    flags that act on code generation (:func:`codegen_key`: the front end's -I, -D, -W
    are in the module already, so a build in another folder hits the same objects) and
    the objective."""
    digest = hashlib.sha256(ir)
    key = [driver, size_level(command.opt_level), codegen_key(command.flags), objective]
    digest.update(json.dumps(key).encode())
    return digest.hexdigest()


def _key_fields(key: Key) -> dict:
    return {
        "hash": key.hash,
        "triple": key.triple,
        "codegen": key.codegen,
        "objective": key.objective,
    }


def _tune_and_emit_module(
    db: TuningDB,
    settings: Settings,
    command: Command,
    source: Source,
    driver: str,
    ir: bytes,
    ir_path: str,
    tmp: str,
) -> tuple[dict, Key, str, bytes]:
    """:func:`_tune_and_emit` for a module (``ir``, also at ``ir_path``) whose object is
    not kept: look up or search its pass list and compile it. Returns the log fields,
    the module's key, the pass list the object was made with, and the object.

    Raises:
        LLMCError: as :func:`_tune_and_emit`.
    """
    from llmcompiler.llvm import berkeley_size
    from llmcompiler.pipeline import OZ
    from llmcompiler.program import program_from_ir
    from llmcompiler.search.budget import plan

    program = program_from_ir(ir, source.path)
    key = module_key(program, command, settings.objective)
    fields = _key_fields(key)
    entry = db.lookup(key)
    if entry is not None:
        obj = emit_object(driver, command, ir_path, entry.pipeline, program.triple, tmp)
        size = berkeley_size(obj).binary_size
        hit = {"outcome": "hit", "size": size, "oz_size": entry.oz_size}
        return {**fields, **hit}, key, entry.pipeline, obj
    budget, cap = min(settings.budget, settings.max_budget), settings.max_budget
    decision = plan(instruction_count(program), budget, cap, settings.objective)
    if not decision.search:  # clang -Oz's object, stored as such: autotune's to tune
        obj = emit_object(driver, command, ir_path, OZ, program.triple, tmp)
        size = berkeley_size(obj).binary_size
        db.store(key, Entry(OZ, size, size, source="large", budget=0.0))
        large = {"outcome": "large", "size": size, "oz_size": size, "message": decision.reason}
        return {**fields, **large}, key, OZ, obj
    seconds = decision.seconds if settings.budget > 0 else 0.0  # 0: -Oz alone, as asked
    if seconds > 0 and settings.objective == "size":
        related = db.related(key, os.path.join(os.getcwd(), source.path))
        reused = related_entry(driver, command, ir_path, program.triple, related, tmp)
        if reused is not None:
            entry, obj = reused
            db.store(key, entry)
            note = "the pass list of a related module (the same source or module)"
            miss = {"outcome": "miss", "size": entry.size, "oz_size": entry.oz_size}
            return {**fields, **miss, "message": note}, key, entry.pipeline, obj
    result = search_module(program, settings.objective, seconds)
    entry, obj = measured_entry(driver, command, ir_path, program.triple, result, tmp, seconds)
    db.store(key, entry)
    miss = {"outcome": "miss", "size": entry.size, "oz_size": entry.oz_size}
    return {**fields, **miss}, key, entry.pipeline, obj


def module_key(program, command: Command, objective: str) -> Key:
    """The tuning database's key of a compile's module: its hash and triple, the
    command's code generation options (:func:`codegen_key`) and the objective."""
    return Key(program.hash, program.triple, codegen_key(command.flags), objective)


def instruction_count(program) -> int:
    """IR instructions in ``program``'s defined functions (what its search would cost:
    :func:`llmcompiler.search.budget.plan`)."""
    from llmcompiler.llvm import Module

    with Module.parse(program.bitcode, "module") as module:
        return module.instruction_count()


def measured_entry(
    driver: str,
    command: Command,
    ir_path: str,
    triple: str,
    result,
    tmp: str,
    budget: float,
    found_by: str = "search",
) -> tuple[Entry, bytes]:
    """The entry to store for a search's ``result`` (a TuneResult) and the object to
    write, both measured with the user's flags: the search measured llc-19's objects,
    and the user's options (sections, PIC, CPU) may change the comparison, so for the
    size objective the list is kept only where its object is smaller than clang -Oz's.

    Raises:
        PipelineError, EvaluationError: as :func:`emit_object`.
    """
    from llmcompiler.llvm import berkeley_size
    from llmcompiler.pipeline import OZ

    pipeline = result.pipeline
    tuned = emit_object(driver, command, ir_path, pipeline, triple, tmp)
    size = berkeley_size(tuned).binary_size
    oz_size = None
    if result.objective == "size":
        oz_obj = tuned if pipeline == OZ else emit_object(driver, command, ir_path, OZ, "", tmp)
        oz_size = berkeley_size(oz_obj).binary_size
        if oz_size <= size:
            pipeline, tuned, size = OZ, oz_obj, oz_size
    entry = Entry(
        pipeline,
        size,
        oz_size,
        result.best.instcount if pipeline == result.pipeline else result.oz.instcount,
        result.oz.instcount,
        found_by,
        budget,
    )
    return entry, tuned


def related_entry(
    driver: str, command: Command, ir_path: str, triple: str, pipelines: list[str], tmp: str
) -> tuple[Entry, bytes] | None:
    """The entry and object of the best of ``pipelines`` (lists stored for related
    modules: :meth:`TuningDB.related`) measured with the user's flags, when one makes
    the object smaller than clang -Oz's; None otherwise (a list that fails is skipped).

    Raises:
        PipelineError, EvaluationError: clang -Oz itself fails (:func:`emit_object`).
    """
    from llmcompiler.llvm import berkeley_size
    from llmcompiler.pipeline import OZ

    if not pipelines:
        return None
    best = (berkeley_size(emit_object(driver, command, ir_path, OZ, "", tmp)).binary_size, None)
    oz_size = best[0]
    for pipeline in pipelines:
        try:
            obj = emit_object(driver, command, ir_path, pipeline, triple, tmp)
        except LLMCError:
            continue
        size = berkeley_size(obj).binary_size
        if size < best[0]:
            best = (size, (pipeline, obj))
    if best[1] is None:
        return None
    pipeline, obj = best[1]
    return Entry(pipeline, best[0], oz_size, source="related", budget=0.0), obj


def search_module(program, objective: str, seconds: float):
    """Search a pass list for ``program`` within ``seconds`` (the built-in model's lists,
    then the target's coreset, then evolution); returns a TuneResult, never worse than
    -Oz as llc-19 measures it. The found list is minimized after the search (on
    inflate.c of zlib-ng that took 1 s and made the object 1.1 % smaller).

    Raises:
        LLMCError: -Oz itself fails on the module.
    """
    from llmcompiler.engine import Evaluator
    from llmcompiler.model.loading import load_pass_list_model
    from llmcompiler.search.coreset import coreset_for
    from llmcompiler.search.run import Budget
    from llmcompiler.search.tuner import TuneConfig, optimize

    model = load_pass_list_model("builtin", objective=objective)
    config = TuneConfig(
        budget=Budget(seconds),
        metric=objective,
        coreset=coreset_for(program.triple, objective).pipelines,
        model=model,
    )
    try:
        with Evaluator(jobs=1, timeout=EVALUATION_TIMEOUT) as evaluator:
            return optimize(evaluator, program, config)
    finally:
        model.close()


def emit_object(
    driver: str, command: Command, ir_path: str, pipeline: str, triple: str, tmp: str
) -> bytes:
    """The object for the module at ``ir_path`` after ``pipeline`` (``default<Oz>``:
    clang's own -Oz pipeline, exactly as ``clang -Oz`` builds it), compiled with the
    user's flags.

    Raises:
        PipelineError: opt-19 rejected the pass list.
        EvaluationError: code generation failed.
    """
    from llmcompiler.pipeline import OZ

    obj = os.path.join(tmp, "output.o")
    if pipeline == OZ:
        argv = object_argv(driver, command, ir_path, obj, oz=True)
    else:
        tuned = os.path.join(tmp, "tuned.bc")
        Path(tuned).write_bytes(_apply(Path(ir_path).read_bytes(), pipeline, triple))
        argv = object_argv(driver, command, tuned, obj)
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise EvaluationError(f"code generation timed out after {TOOL_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        from llmcompiler.llvm.toolchain import failure_line

        raise EvaluationError(f"code generation failed: {failure_line(proc.stderr)}")
    if proc.stderr:  # a back end's warnings, as clang shows them
        sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
    data = Path(obj).read_bytes()
    os.unlink(obj)
    return data


def _apply(ir: bytes, pipeline: str, triple: str) -> bytes:
    """Bitcode after ``pipeline``: run by opt-19, or in this process when it holds
    llmcompiler's own steps (``llmc-narrow``), which opt-19 does not know.

    Raises:
        PipelineError: the pipeline was rejected; InvalidIRError: its output does not verify.
    """
    from llmcompiler.pipeline import steps_in

    if not steps_in(pipeline):
        from llmcompiler.llvm.toolchain import opt

        return opt(ir, pipeline, text=False, timeout=TOOL_TIMEOUT, triple=triple)
    from llmcompiler.engine.steps import run_pipeline
    from llmcompiler.llvm import Module, TargetMachine

    with Module.parse(ir, "module") as module, TargetMachine(triple) as machine:
        run_pipeline(module, pipeline, machine)
        module.verify()
        return module.to_bitcode()


def _write(path: str, data: bytes) -> None:
    """Write the object as clang does: a temporary file beside it, then a rename, so
    that no reader ever sees half an object."""
    temp = f"{path}.llmc-{os.getpid()}.tmp"
    try:
        Path(temp).write_bytes(data)
        os.replace(temp, path)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise LLMCError(f"{path}: cannot write the object: {err.strerror or err}") from None


def describe_failure(err: BaseException) -> str:
    """One line that says why llmc failed: an LLMCError's message, else the exception's
    type and message (at most 300 characters)."""
    text = str(err) if isinstance(err, LLMCError) else f"{type(err).__name__}: {err}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [type(err).__name__]
    line = lines[0]
    return line if len(line) <= 300 else line[:297] + "..."


def _log_quietly(environ: Mapping[str, str], row: dict, start: float) -> None:
    """Log a compile whose outcome is already decided; a database that cannot take the
    row is no reason to fail the build (the warning, if any, has been shown)."""
    try:
        with TuningDB(database_path(environ)) as db:
            db.log({**row, "seconds": time.monotonic() - start})
    except (LLMCError, OSError):
        pass
