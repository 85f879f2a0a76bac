"""``llmc cc``'s budget follows the module's size: raised for a larger module up to
``LLMC_CC_MAX_BUDGET``, and no search at all (clang -Oz's object, logged ``large``) for
a module too large for it."""

from __future__ import annotations

import os

import pytest

from llmcompiler.driver.compile import Settings, instruction_count
from llmcompiler.driver.db import TuningDB
from llmcompiler.errors import LLMCError
from llmcompiler.program import program_from_ir
from llmcompiler.search.budget import plan
from test_cc import CLANG, HEADER, LLMC, SOURCES, make, outcomes, run


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "util.h").write_text(HEADER)
    for name, text in SOURCES.items():
        (root / name).write_text(text)
    (root / "Makefile").write_text(
        "OBJS = main.o util.o shapes.o\nprog: $(OBJS)\n\t$(CC) $(OBJS) -o prog\n"
        "%.o: %.c\n\t$(CC) $(CFLAGS) -MMD -c $< -o $@\n"
    )
    return root


@pytest.fixture
def env(tmp_path):
    out = {k: v for k, v in os.environ.items() if not k.startswith("LLMC_CC_")}
    out["LLMC_CC_DB"] = str(tmp_path / "tuning.sqlite")
    return out


def test_too_large_for_the_cap_is_clang_oz_byte_for_byte(project, env):
    env = {**env, "LLMC_CC_MAX_BUDGET": "0.001"}
    proc, _ = make(project, env, "CFLAGS=-O2 -g")
    assert "warning" not in proc.stderr  # nothing failed: no fallback
    assert outcomes(env) == ["large"] * 3
    with TuningDB(env["LLMC_CC_DB"]) as db:
        rows = db.compiles()
        # -Oz stored as such (the next build hits it); autotune tunes them from the log
        entries = [entry for _, entry in db.entries()]
        assert [(e.pipeline, e.source) for e in entries] == [("default<Oz>", "large")] * 3
    for row in rows:
        assert row["message"].startswith("too large to search at build time")
        assert row["size"] == row["oz_size"] and row["hash"]
    for name in SOURCES:  # the same command with clang -Oz gives the same bytes
        stem = name.removesuffix(".c")
        run([CLANG, "-Oz", "-g", "-MMD", "-c", name, "-o", f"{stem}.ref.o"], project)
        assert (project / f"{stem}.o").read_bytes() == (project / f"{stem}.ref.o").read_bytes()
    assert "alpha" in run(["./prog"], project).stdout
    # the next compile hits the same object
    run([LLMC, "cc", "-O2", "-g", "-c", "util.c", "-o", "util.o"], project, env)
    assert outcomes(env)[-1] == "hit"
    assert (project / "util.o").read_bytes() == (project / "util.ref.o").read_bytes()


def test_a_small_budget_is_raised_for_the_module(project, env):
    # too small for the few evaluations a search needs, which the cap affords
    env = {**env, "LLMC_CC_BUDGET": "0.001", "LLMC_CC_MAX_BUDGET": "1000"}
    run([LLMC, "cc", "-c", "shapes.c"], project, env)
    assert outcomes(env) == ["miss"]
    with TuningDB(env["LLMC_CC_DB"]) as db:
        ((_, entry),) = db.entries()
    run([CLANG, "-Oz", "-emit-llvm", "-Xclang", "-disable-llvm-passes", "-c", "shapes.c"], project)
    program = program_from_ir((project / "shapes.bc").read_bytes(), "shapes.c")
    expected = plan(instruction_count(program), 0.001, 1000.0)
    assert expected.search and expected.seconds > 0.001
    assert entry.budget == pytest.approx(expected.seconds)
    assert entry.size <= entry.oz_size


def test_a_budget_above_the_cap_is_cut_to_it(project, env):
    env = {**env, "LLMC_CC_BUDGET": "1000", "LLMC_CC_MAX_BUDGET": "0.5"}
    run([LLMC, "cc", "-c", "util.c"], project, env)
    with TuningDB(env["LLMC_CC_DB"]) as db:
        ((_, entry),) = db.entries()
    assert entry.budget == 0.5


def test_max_budget_setting():
    assert Settings.from_environ({"LLMC_CC_DB": "x"}).max_budget == 10.0
    assert Settings.from_environ({"LLMC_CC_DB": "x", "LLMC_CC_MAX_BUDGET": "2.5"}).max_budget == 2.5
    with pytest.raises(LLMCError, match="LLMC_CC_MAX_BUDGET='-1' is not a number of seconds"):
        Settings.from_environ({"LLMC_CC_DB": "x", "LLMC_CC_MAX_BUDGET": "-1"})
