"""Whole-program mode: ``llmc cc -flto`` compiles to bitcode and tunes the program at link.

**Compile** (``llmc cc -flto -c x.c -o x.o``): clang-19 runs the user's command with
``-Oz`` for the ``-O`` level, ``-flto=full`` for the LTO option and ``-Xclang
-disable-llvm-passes``. ``x.o`` is LLVM bitcode, as clang's own ``-flto -c`` writes it
(``ar`` and every LTO linker take it), but no LLVM pass has run on it: the program is
optimized once, whole, at link time. The dependency file is clang's, as asked. Nothing
of llmc's own runs, so nothing of llmc's can fail.

**Link** (``llmc cc -flto a.o b.o libx.a -lm -o prog``):

1. The bitcode is found by content: objects, and the members of archives made of
   bitcode alone, each taken when it defines a symbol still undefined (GNU ld's rule,
   in command-line order). Everything else (native objects and archives, shared
   libraries, ``-l``, linker scripts) goes to the final link unchanged.
2. llvm-link-19 joins the bitcode into one module. A trial link of it (compiled at -O0)
   with the other inputs tells which symbols the program must keep: those its dynamic
   symbol table exports (``-shared``, ``-rdynamic``, a version script, a ``malloc`` a
   shared library calls), those the native inputs use, and ``main``. opt-19
   internalizes the rest (``internalize,globaldce``), as the linker tells clang's LTO.
3. The merged module is looked up in the build's tuning database (its hash and triple,
   the link command's code generation options, the objective), or searched for
   ``$LLMC_CC_BUDGET`` seconds per bitcode file joined (the per-file searches this one
   replaces), at most :data:`LINK_CAP_SECONDS` (or ``$LLMC_CC_MAX_BUDGET`` when larger);
   raised to afford a few evaluations of a large module, up to the same cap, and not
   searched when even that is too little (logged ``large``, nothing stored:
   :func:`llmcompiler.search.budget.plan`).
4. The tuned module is compiled to one object with the link command's code generation
   options and linked without LTO with the other inputs; so is the merged module after
   -Oz. ``clang -flto -Oz`` links the original inputs (clang's whole-program pipeline
   on the same bitcode), and links them again after clang's pre-link pipeline
   (``lto-pre-link<Oz>``, what ``clang -Oz -flto -c`` runs): the program a plain
   ``clang -Oz -flto`` build makes. The program with the least text + data
   (llvm-size-19) is the output; the log row's ``oz_size`` is the smaller clang one.

``-flto=thin`` is treated as ``-flto=full``: ThinLTO optimizes each module apart, and
this mode exists to tune one. Any failure inside llmc links with ``clang -flto -Oz`` and
the user's command instead, with one warning line; a link error of the user's own (an
undefined symbol) is clang's: its message and exit status. ELF targets only (the trial
link reads the dynamic symbol table); other links fall back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from llmcompiler.driver.argv import PASSTHROUGH, Command, classify, codegen_key, size_level
from llmcompiler.driver.compile import (
    EVALUATION_TIMEOUT,
    FAIL_VARIABLE,
    QUIET,
    TOOL_TIMEOUT,
    Settings,
    call,
    describe_failure,
)
from llmcompiler.driver.db import Entry, Key, TuningDB, database_path
from llmcompiler.driver.link import Inputs, Link, classify_link, gather_inputs, without_lto
from llmcompiler.errors import EvaluationError, LLMCError
from llmcompiler.llvm.toolchain import failure_line

#: the most seconds a link's search takes (the cap of :func:`llmcompiler.search.budget.plan`;
#: ``$LLMC_CC_MAX_BUDGET`` when larger): one search per program, at the end of a build,
#: can afford more than the one of each file
LINK_CAP_SECONDS = 120.0
#: the LTO option every compile step writes bitcode with
LTO_FULL = "-flto=full"
#: the candidate programs: the tuned module and the merged module at -Oz, linked
#: without LTO; clang's LTO link at -Oz of the bitcode as compiled, and of the bitcode
#: after clang's pre-link pipeline (the program ``clang -Oz -flto`` builds)
TUNED, OZ_LINK = "tuned", "-Oz"
CLANG_LTO, CLANG_BUILD = "clang -flto -Oz", "clang -Oz -flto build"
#: the pipeline ``clang -Oz -flto -c`` runs before it writes bitcode
PRE_LINK = "lto-pre-link<Oz>"


def run(
    args: Sequence[str],
    driver: str,
    name: str = "llmc cc",
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run a command that asks for LTO: a compile to bitcode (:func:`compile_argv`), a
    whole-program link (:func:`link_program`), or anything else as clang-19 runs it.
    Returns the exit status."""
    env = os.environ if environ is None else environ
    command = classify(without_lto(args))
    if command.kind != PASSTHROUGH:
        return call(compile_argv(command, driver))
    link = classify_link(args)
    if link.kind == PASSTHROUGH:
        return call([driver, *args])
    return link_program(link, driver, name, env)


def compile_argv(command: Command, driver: str) -> list[str]:
    """clang-19's command line for an LTO compile step: the user's (``command``, its
    LTO options removed) at -Oz, writing full-LTO bitcode on which no LLVM pass ran."""
    drop = set(command.optimization)
    return [
        driver,
        *size_level(command.opt_level),
        *(a for i, a in enumerate(command.args) if i not in drop),
        LTO_FULL,
        *("-Xclang", "-disable-llvm-passes"),
    ]


def fallback_argv(link: Link, driver: str, output: str | None = None) -> list[str]:
    """clang-19's own LTO link at -Oz: the user's link command with ``-Oz`` for the
    ``-O`` level, writing ``output`` (default: the user's)."""
    if output is None:
        return [driver, *size_level(link.opt_level), *link.rewrite(link.optimization)]
    drop = {*link.optimization, *link.outputs}
    return [driver, *size_level(link.opt_level), *link.rewrite(drop), "-o", output]


def link_program(link: Link, driver: str, name: str, environ: Mapping[str, str]) -> int:
    """Link ``link``'s program whole (the module docstring tells how); returns the exit
    status: 0, or clang's for the user's own link error."""
    start = time.monotonic()
    row = {
        "cwd": os.getcwd(),
        "compiler": name.removeprefix("llmc "),
        "argv": link.args,
        "source": " ".join(path for _, path in link.inputs),
        "output": link.output,
    }
    try:
        settings = Settings.from_environ(environ)
        if settings.fail:
            raise LLMCError(f"forced failure ({FAIL_VARIABLE}=1)")
        with tempfile.TemporaryDirectory(prefix="llmc-lto-") as tmp, TuningDB(settings.db) as db:
            fields = _whole_program(db, settings, link, driver, tmp)
            if fields is not None:
                db.log({**row, **fields, "seconds": time.monotonic() - start})
        if fields is None:  # no bitcode among the inputs: a plain link
            return call([driver, *link.args])
        return 0
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - whatever fails inside llmc, the build goes on
        why = describe_failure(err)
    status = call(fallback_argv(link, driver))
    if status:  # the user's own link error: clang has said why
        message = f"clang exited with status {status}"
        _log_quietly(environ, {**row, "outcome": "error", "message": message}, start)
        return status
    print(f"{name}: warning: {link.output}: {why}; linked with clang -flto -Oz", file=sys.stderr)
    sys.stderr.flush()
    _log_quietly(environ, {**row, "outcome": "fallback", "message": why}, start)
    return 0


def _whole_program(
    db: TuningDB, settings: Settings, link: Link, driver: str, tmp: str
) -> dict | None:
    """Join, internalize, tune and link the program (writing ``link.output``); returns
    the log fields, or None when no input is bitcode.

    Raises:
        LLMCError: a step failed (an input llmc does not take, a tool, the database).
    """
    from llmcompiler.llvm import Module, default_triple
    from llmcompiler.llvm.objsize import berkeley_size
    from llmcompiler.llvm.target import ELF, target
    from llmcompiler.llvm.toolchain import file_arg, tool
    from llmcompiler.pipeline import OZ
    from llmcompiler.program import program_from_ir

    inputs = gather_inputs(link, tmp)
    if not inputs.bitcode:
        return None
    merged = os.path.join(tmp, "merged.bc")
    _tool([tool("llvm-link"), "-o", merged, *map(file_arg, inputs.bitcode)], "llvm-link-19")
    with Module.parse(Path(merged).read_bytes(), "merged") as module:
        triple = module.triple or default_triple()
    if target(triple).object_format != ELF:
        raise LLMCError(f"whole-program mode links ELF programs only, not {triple}")
    keep = {"main"} | inputs.references | _exports(link, driver, merged, inputs, tmp)
    public = os.path.join(tmp, "public.txt")
    Path(public).write_text("".join(f"{s}\n" for s in sorted(keep)))
    internal = os.path.join(tmp, "program.bc")
    passes = "-passes=internalize,globaldce"
    api = f"-internalize-public-api-file={public}"
    _tool([tool("opt"), passes, api, merged, "-o", internal], "opt-19")
    ir = Path(internal).read_bytes()
    program = program_from_ir(ir, link.output)
    key = Key(program.hash, program.triple, codegen_key(link.codegen), settings.objective)
    fields = {
        "hash": key.hash,
        "triple": key.triple,
        "codegen": key.codegen,
        "objective": key.objective,
    }

    oz_obj = _codegen(driver, link, internal, os.path.join(tmp, "oz.o"), oz=True)
    entry = db.lookup(key)
    if entry is not None:
        pipeline, outcome, found, why = entry.pipeline, "hit", None, ""
        tuned_ir = _apply(program, pipeline) if pipeline != OZ else None
    else:
        with Module.parse(ir, "program") as module:
            instructions = module.instruction_count()
        found, budget, why = _search(program, settings, instructions, len(inputs.bitcode))
        pipeline, outcome = (found.pipeline if found else OZ), ("large" if why else "miss")
        tuned_ir = found.output if found and pipeline != OZ else None
    objects = {}
    if tuned_ir is not None:
        path = os.path.join(tmp, "tuned.bc")
        Path(path).write_bytes(tuned_ir)
        objects[TUNED] = _codegen(driver, link, path, os.path.join(tmp, "tuned.o"))
    objects[OZ_LINK] = oz_obj
    if found is not None:  # store what the search found, as a compile's miss does
        size = berkeley_size(Path(objects.get(TUNED, oz_obj)).read_bytes()).binary_size
        oz_size = berkeley_size(Path(oz_obj).read_bytes()).binary_size
        if pipeline != OZ and oz_size <= size:
            pipeline, size = OZ, oz_size
        count = found.best.instcount if pipeline == found.pipeline else found.oz.instcount
        stored = Entry(pipeline, size, oz_size, count, found.oz.instcount, "search", budget)
        db.store(key, stored)

    best, sizes = _choose(link, driver, objects, inputs, tmp)
    clang = min(sizes[CLANG_LTO], sizes[CLANG_BUILD])
    return {
        **fields,
        "outcome": outcome,
        "size": sizes[best],
        "oz_size": clang,
        "message": f"whole program of {len(inputs.bitcode)} bitcode files: kept {best}"
        + (f"; {why}" if why else ""),
    }


def _choose(
    link: Link, driver: str, objects: dict[str, str], inputs: Inputs, tmp: str
) -> tuple[str, dict[str, int]]:
    """Link every candidate, write the smallest program to ``link.output``; returns its
    name and every candidate's text + data. The candidates: each of ``objects`` linked
    without LTO; clang's LTO link of the bitcode as given (:data:`CLANG_LTO`); and of
    the bitcode after clang's own pre-link pipeline (:data:`CLANG_BUILD`: what the
    user's ``clang -Oz -flto`` build links). Ties go to the first, in that order.

    Raises:
        LLMCError: a link failed.
    """
    from llmcompiler.llvm.toolchain import file_arg, tool

    paths: dict[str, str] = {}
    for which, obj in objects.items():
        paths[which] = os.path.join(tmp, f"{which.strip('-')}.out")
        _tool(_native_argv(link, driver, obj, paths[which], inputs), "the link")
    paths[CLANG_LTO] = os.path.join(tmp, "clang-lto.out")
    _tool(fallback_argv(link, driver, paths[CLANG_LTO]), "clang -flto -Oz")
    prelinked = []
    for k, path in enumerate(inputs.bitcode):
        prelinked.append(os.path.join(tmp, f"prelink{k}.o"))
        argv = [tool("opt"), f"-passes={PRE_LINK}", file_arg(path), "-o", prelinked[-1]]
        _tool(argv, "opt-19")
    paths[CLANG_BUILD] = os.path.join(tmp, "clang-build.out")
    drop = {*inputs.positions, *link.optimization, *link.outputs}
    rest = link.rewrite(drop, inputs.put(prelinked))
    argv = [driver, *size_level(link.opt_level), *rest, "-o", paths[CLANG_BUILD]]
    _tool(argv, "clang -flto -Oz")
    sizes = {which: _linked_size(path) for which, path in paths.items()}
    best = min(sizes, key=lambda w: sizes[w])
    if best in objects:  # link again where the user asked: side files are this link's
        _tool(_native_argv(link, driver, objects[best], link.output, inputs), "the link")
    else:  # a side file (a linker map) is the last clang link's
        _copy(paths[best], link.output)
    return best, sizes


def _search(program, settings: Settings, instructions: int, modules: int):
    """Search a pass list for the merged ``program`` of ``modules`` bitcode files and
    ``instructions`` IR instructions (the budget: the module docstring's step 3).
    Returns (a TuneResult holding the tuned bitcode, or None when there is no search;
    the seconds searched; why a module is too large to search, else "")."""
    from llmcompiler.engine import Evaluator
    from llmcompiler.model.loading import load_pass_list_model
    from llmcompiler.search.budget import plan
    from llmcompiler.search.coreset import coreset_for
    from llmcompiler.search.run import Budget
    from llmcompiler.search.tuner import TuneConfig, optimize

    if settings.budget <= 0:  # -Oz alone, as asked
        return None, 0.0, ""
    # one search replaces the build's per-file ones: it gets their seconds, up to the cap
    cap = max(LINK_CAP_SECONDS, settings.max_budget)
    budget = min(settings.budget * modules, cap)
    decision = plan(instructions, budget, cap, settings.objective)
    if not decision.search:
        return None, 0.0, decision.reason
    model = load_pass_list_model("builtin", objective=settings.objective)
    config = TuneConfig(
        budget=Budget(decision.seconds),
        metric=settings.objective,
        coreset=coreset_for(program.triple, settings.objective).pipelines,
        model=model,
    )
    try:
        with Evaluator(jobs=1, timeout=EVALUATION_TIMEOUT) as evaluator:
            result = optimize(evaluator, program, config, output="bitcode")
            return result, decision.seconds, ""
    finally:
        model.close()


def _apply(program, pipeline: str) -> bytes:
    """The merged module after a stored ``pipeline`` (in a worker process: llmc's own
    steps run too, and a crash in LLVM is an error, not the end of the build).

    Raises:
        EvaluationError: the pipeline failed.
    """
    from llmcompiler.engine import Evaluator
    from llmcompiler.search.accept import INSTCOUNT

    with Evaluator(jobs=1, timeout=EVALUATION_TIMEOUT) as evaluator:
        result = evaluator.evaluate(program, pipeline, INSTCOUNT, output="bitcode")
    if not result.ok or result.output is None:
        raise EvaluationError(f"the stored pass list failed: {result.status}: {result.error}")
    return result.output


def _exports(link: Link, driver: str, merged: str, inputs: Inputs, tmp: str) -> set[str]:
    """The symbols of ``merged`` that the linked program exports in its dynamic symbol
    table, from a trial link (compiled at -O0; undefined symbols ignored).

    Raises:
        LLMCError: the trial link failed.
    """
    from llmcompiler.llvm.toolchain import tool

    obj = os.path.join(tmp, "trial.o")
    argv = [driver, "-O0", *link.codegen, QUIET, "-c", "-x", "ir", merged, "-o", obj]
    _tool(argv, "code generation")
    exe = os.path.join(tmp, "trial.out")
    argv = _native_argv(link, driver, obj, exe, inputs)
    _tool([*argv, "-Wl,--unresolved-symbols=ignore-all"], "the trial link")
    out = _tool([tool("llvm-nm"), "-P", "-D", "--defined-only", exe], "llvm-nm-19")
    return {line.split()[0].split("@")[0] for line in out.splitlines() if line.strip()}


def _native_argv(link: Link, driver: str, obj: str, output: str, inputs: Inputs) -> list[str]:
    """The user's link command without LTO: ``obj`` in place of the first bitcode input,
    the other bitcode inputs and the LTO options removed, writing ``output``."""
    drop = {*inputs.positions, *link.lto, *link.outputs}
    rest = link.rewrite(drop, inputs.put([obj]))
    # a symbol a version script names may be gone once internalized (lld refuses that
    # by default; GNU ld ignores it, as an LTO link's own internalizing would)
    lld = any(a.startswith("-fuse-ld=") and a.endswith("lld") for a in link.args)
    return [driver, QUIET, *rest, *(["-Wl,--undefined-version"] if lld else []), "-o", output]


def _codegen(driver: str, link: Link, bitcode: str, output: str, oz: bool = False) -> str:
    """Compile ``bitcode`` to the object ``output`` with the link command's code
    generation options: as it is, or through clang's -Oz pipeline when ``oz``. Returns
    ``output``.

    Raises:
        LLMCError: code generation failed.
    """
    passes = () if oz else ("-Xclang", "-disable-llvm-passes")
    level = size_level(link.opt_level)
    argv = [driver, *level, *link.codegen, QUIET, *passes, "-c", "-x", "ir", bitcode, "-o", output]
    _tool(argv, "code generation")
    return output


def _tool(argv: list[str], what: str) -> str:
    """Run one step of llmc's own with its output captured; returns its standard output.

    Raises:
        LLMCError: it failed or timed out (the message names ``what`` and quotes the
            first error line).
    """
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise LLMCError(f"{what} timed out after {TOOL_TIMEOUT:g} s") from None
    except OSError as err:
        raise LLMCError(f"{what}: {err}") from None
    if proc.returncode != 0:
        # the linker's own line, not clang's "linker command failed" after it
        first = failure_line(proc.stderr, skip=("linker command failed",), marks=("undefined",))
        raise LLMCError(f"{what} failed: {first}")
    return proc.stdout.decode("utf-8", "replace")


def _linked_size(path: str) -> int:
    """text + data of a linked program (llvm-size-19)."""
    from llmcompiler.llvm.toolchain import llvm_size

    text, data, _ = llvm_size(path)
    return text + data


def _copy(source: str, output: str) -> None:
    """Copy the program to ``output`` as a linker writes it: whole or not at all."""
    temp = f"{output}.llmc-{os.getpid()}.tmp"
    try:
        shutil.copy2(source, temp)
        os.replace(temp, output)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise LLMCError(f"{output}: cannot write the program: {err.strerror or err}") from None


def _log_quietly(environ: Mapping[str, str], row: dict, start: float) -> None:
    """Log a link whose outcome is decided; a database that cannot take the row is no
    reason to fail the build."""
    try:
        with TuningDB(database_path(environ)) as db:
            db.log({**row, "seconds": time.monotonic() - start})
    except (LLMCError, OSError):
        pass
