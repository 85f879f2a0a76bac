"""Shared fixtures: the project's own test programs, loaded once, and an evaluator pool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmcompiler.evaluate import Evaluator
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


_LABEL = re.compile(r"^[\w.$\-]+:")


def count_ir_text(ir: str) -> int:
    """Count instructions in textual IR: the lines of function bodies that are not
    labels, comments, blank, the closing brace or a switch's case lines.
    Independent of the C API walk."""
    count, inside, in_switch = 0, False, False
    for line in ir.splitlines():
        stripped = line.strip()
        if in_switch:
            in_switch = not stripped.startswith("]")
            continue
        if inside and stripped.endswith("["):  # switch ... [ cases ]
            in_switch = True
        if line.startswith("define "):
            inside = True
            continue
        if inside and line.startswith("}"):
            inside = False
            continue
        if inside and stripped and not stripped.startswith(";") and not _LABEL.match(stripped):
            count += 1
    return count
