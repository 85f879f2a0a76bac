"""The per-module search plan: a budget in seconds buys evaluations in proportion to the
module's size; huge modules are left to autotuning."""

from __future__ import annotations

import time

import pytest

from llmcompiler.engine import Objective
from llmcompiler.engine.worker import evaluate_module
from llmcompiler.llvm import Module
from llmcompiler.search.budget import MIN_EVALUATIONS, estimated_seconds, plan


def test_a_small_module_is_searched_with_the_budget_given():
    p = plan(400, budget=1.0, cap=5.0)
    assert (p.search, p.seconds, p.reason) == (True, 1.0, "budget 1 s")


def test_a_medium_module_gets_a_budget_raised_to_a_few_evaluations():
    p = plan(20_000, budget=1.0, cap=30.0)
    assert p.search and p.seconds == pytest.approx(MIN_EVALUATIONS * estimated_seconds(20_000))
    assert p.reason.startswith("budget raised to ")


def test_a_huge_module_is_not_searched_at_build_time():
    p = plan(280_567, budget=1.0, cap=5.0)  # SQLite's amalgamation
    assert not p.search and p.seconds == 0.0
    assert p.reason.startswith("too large to search at build time (about 19.6 s per evaluation")


def test_the_estimate_does_not_undershoot_a_real_evaluation(programs):
    """The estimate is an upper bound in spirit: on the fixtures it is at least a third
    of the measured time of a -Oz size evaluation (machines differ; the point is the
    order of magnitude)."""
    program = programs["loops.c"]
    with Module.parse(program.bitcode, "m") as module:
        n = module.instruction_count()
        evaluate_module(module, "default<Oz>", Objective(metric="size"))
        start = time.perf_counter()
        evaluate_module(module, "default<Oz>", Objective(metric="size"))
        took = time.perf_counter() - start
    assert estimated_seconds(n) >= took / 3
