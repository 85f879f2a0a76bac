"""Shared fixtures: the project's own test programs, loaded once, and an evaluator pool."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmcompiler.analysis.narrow import apply_narrowing
from llmcompiler.engine import Evaluator
from llmcompiler.engine.steps import STEPS, split_pipeline
from llmcompiler.llvm import Module, TargetMachine, berkeley_size
from llmcompiler.llvm.toolchain import count_text_instructions, llc_object, opt
from llmcompiler.pipeline import steps_in
from llmcompiler.program import load_program

FIXTURES = Path(__file__).parent / "fixtures" / "programs"
#: Runnable C programs the project wrote, one per theme.
C_PROGRAMS = ["loops.c", "switch.c", "recursion.c", "globals.c", "float.c", "strings.c"]
#: Programs whose object code uses no libcall that llc lowers with target library info.
NO_TLI_LIBCALLS = ["loops.c", "switch.c", "recursion.c", "globals.c"]

PIPELINES = [
    "",
    "default<Oz>",
    "default<O2>",
    "function(sroa,instcombine<no-verify-fixpoint>,simplifycfg),globaldce",
    "function(mem2reg,loop-mssa(licm),loop(loop-rotate,loop-deletion)),ipsccp,cgscc(inline)",
]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """CLI runs in tests never touch the user's cache."""
    monkeypatch.setenv("LLMC_CACHE", str(tmp_path / "cache.sqlite"))


@pytest.fixture(scope="session")
def programs():
    """The fixture C programs, loaded (compiled by clang-19) once per session."""
    return {name: load_program(FIXTURES / name) for name in C_PROGRAMS}


@pytest.fixture(scope="session")
def evaluator():
    """A two-worker pool shared by tests that do not restart or configure it."""
    with Evaluator(jobs=2, timeout=60) as ev:
        yield ev


count_ir_text = count_text_instructions  # the reference count of opt's text output


def optimized_bitcode(ir: bytes, pipeline: str, triple: str | None = None) -> bytes:
    """opt-19's bitcode for ``pipeline``.

    opt-19 cannot run llmcompiler's own ``llmc-narrow`` step: for a list holding it,
    opt-19 runs the LLVM segments and ``apply_narrowing`` runs in this process between them;
    so does ``llmc-functions`` (:meth:`Module.run_passes_on`).
    """
    bitcode = ir
    for part in split_pipeline(pipeline) if steps_in(pipeline) else [pipeline]:
        if isinstance(part, tuple):
            with Module.parse(bitcode) as module, TargetMachine(triple) as machine:
                module.run_passes_on(part[0], part[1], machine)
                bitcode = module.to_bitcode()
        elif part in STEPS:
            with Module.parse(bitcode) as module:
                apply_narrowing(module)
                bitcode = module.to_bitcode()
        else:
            bitcode = opt(bitcode, part, text=False)
    return bitcode


def reference_opt(ir: bytes, pipeline: str) -> bytes:
    """The reference optimized IR text: ``opt -S`` in one run, or for a list holding
    llmcompiler's own steps, :func:`optimized_bitcode` printed (the bitcode between
    segments loses use-list order and re-derives intrinsics' attributes: the text is not
    the one-run text, its instructions and code are)."""
    if not steps_in(pipeline):
        return opt(ir, pipeline)
    return opt(optimized_bitcode(ir, pipeline), "verify")


def exact_size(program, pipeline: str) -> int:
    """The reference binary size: llc-19 on the IR text opt-19 prints (``opt -S``),
    measured by Berkeley rules (README, Definitions: textual IR carries no use-list
    order, so this is what compiling the printed IR gives)."""
    bitcode = optimized_bitcode(program.bitcode, pipeline, program.triple)
    return berkeley_size(llc_object(opt(bitcode, "verify"))).binary_size


def run_at_once(code: str, argvs: list[list[str]]) -> list[tuple[int, str]]:
    """Run ``python -c code START ARG...`` once per argument list, all started before
    START (``time.time()`` one second ahead, ``sys.argv[1]``), which the code waits for
    before it does anything; return each process's (exit status, stderr)."""
    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, start, *argv], stderr=subprocess.PIPE, text=True
        )
        for argv in argvs
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    return [(p.returncode, err) for p, err in zip(procs, errors)]
