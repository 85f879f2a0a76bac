"""Screening on a sample: the sample module llvm-extract-19 cuts (its functions with
what they call, globals with their initializers, linkage as in the module), and search
trying the seeds in the order of their scores on it."""

from __future__ import annotations

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.engine import EvalResult, Objective
from llmcompiler.llvm import Module
from llmcompiler.llvm.sample import sample_functions
from llmcompiler.program import program_from_ir
from llmcompiler.search import screen, tuner
from llmcompiler.search.run import Budget, SearchRun
from llmcompiler.search.space import OZ_GENE, pipeline_text
from llmcompiler.search.tuner import TuneConfig, coreset_genomes, optimize

# Two external functions, each with an internal helper; a constant table one helper
# reads, a quoted name, and a global table of function pointers.
_IR = b"""
@table = internal constant [4 x i32] [i32 3, i32 1, i32 4, i32 1]
@handlers = global [1 x ptr] [ptr @"odd name"]

define internal i32 @helper_a(i32 %x) {
  %i = and i32 %x, 3
  %p = getelementptr [4 x i32], ptr @table, i32 0, i32 %i
  %v = load i32, ptr %p
  %w = add i32 %v, %x
  ret i32 %w
}

define i32 @root_a(i32 %x) {
  %r = call i32 @helper_a(i32 %x)
  %s = mul i32 %r, 3
  %t = sub i32 %s, 1
  ret i32 %t
}

define internal i32 @helper_b(i32 %x) {
  %a = shl i32 %x, 2
  %b = xor i32 %a, 5
  %c = add i32 %b, 7
  %d = mul i32 %c, %x
  ret i32 %d
}

define i32 @"odd name"(i32 %x) {
  %r = call i32 @helper_b(i32 %x)
  %s = add i32 %r, %x
  %t = mul i32 %s, %s
  %u = sub i32 %t, 9
  ret i32 %u
}
"""


def _bitcode(text: bytes) -> bytes:
    with Module.parse(text) as module:
        return module.to_bitcode()


def test_a_sample_keeps_callees_globals_and_internal_linkage():
    """Each chosen function comes with its helper's body, the helper stays internal
    (llvm-extract alone makes it hidden), the table keeps its initializer, and a quoted
    name is extracted like any other; the same seed cuts the same sample."""
    bitcode = _bitcode(_IR)
    sample = sample_functions(bitcode, 5, seed=0)
    assert sample is not None and sample == sample_functions(bitcode, 5, seed=0)
    with Module.parse(sample.bitcode) as part:
        part.verify()
        text = part.to_text()
        counts = part.function_instruction_counts()
    assert sample.instructions == sum(counts.values()) >= 5
    chosen = set(sample.functions)
    assert chosen in ({"root_a", "helper_a"}, {"odd name", "helper_b"})
    helper = "helper_a" if "root_a" in chosen else "helper_b"
    assert f"define internal i32 @{helper}(" in text
    if helper == "helper_a":
        assert "@table = internal constant [4 x i32] [i32 3, i32 1, i32 4, i32 1]" in text
    # the other seed's choice is the other root
    others = {sample_functions(bitcode, 5, seed=s).functions for s in range(8)}
    assert others == {("helper_a", "root_a"), ("helper_b", "odd name")}


def test_no_sample_of_a_module_under_twice_the_target(programs):
    """A module of fewer than twice the target's instructions is not sampled, nor one
    whose every function's closure passes twice the target."""
    bitcode = programs["loops.c"].bitcode
    assert sample_functions(bitcode, 400) is None  # 523 instructions
    assert sample_functions(_bitcode(_IR), 2) is None  # each root's closure has 9
    sample = sample_functions(bitcode, 100, seed=1)
    assert sample is not None and "main" not in sample.functions
    assert 100 <= sample.instructions <= 100 + 2 * 100


def _run(evaluator, program, metric: str, oz_seconds: float) -> SearchRun:
    """A search run with -Oz measured, its time set to ``oz_seconds``."""
    run = SearchRun(evaluator, program, Objective(metric=metric), Budget(5.0))
    oz = evaluator.evaluate(program, pipeline_text((OZ_GENE,)), run.objective)
    run.count((OZ_GENE,), EvalResult(oz.status, oz.instcount, oz.size, seconds=oz_seconds))
    run.timeout = 60
    return run


_SEEDS = (
    "function(sroa)",
    "function(sroa,instcombine<no-verify-fixpoint>)",
    "default<Oz>",
    "function(mem2reg,gvn,simplifycfg),globaldce",
    "cgscc(inline),function(sroa,instcombine<no-verify-fixpoint>,simplifycfg)",
)


def test_seeds_are_tried_in_the_order_of_their_scores_on_the_sample(
    programs, evaluator, monkeypatch
):
    """When the seeds do not fit the budget, they come back ordered by their
    instruction counts on the sample (ties in their order), as each measures alone."""
    monkeypatch.setattr(screen, "SAMPLE_INSTRUCTIONS", 100)
    program = programs["loops.c"]
    seeds = coreset_genomes(_SEEDS)
    run = _run(evaluator, program, "instcount", oz_seconds=10.0)
    ordered = screen.screened(run, seeds, seed=3)
    sample = sample_functions(program.bitcode, 100, seed=3)
    part = program_from_ir(sample.bitcode, "sample")
    counts = [
        evaluator.evaluate(part, pipeline_text(g), Objective(metric="instcount")).instcount
        for g in seeds
    ]
    expected = [seeds[i] for i in sorted(range(len(seeds)), key=lambda i: (counts[i], i))]
    assert ordered == expected and ordered != seeds
    assert run.evaluations == 1  # the sample's evaluations are not search's
    # the model's picks (here the last two seeds) ahead of the rest, each part in the
    # sample's order
    picks, rest = [3, 4], [0, 1, 2]
    tier = [seeds[i] for i in sorted(picks, key=lambda i: (counts[i], i))]
    tier += [seeds[i] for i in sorted(rest, key=lambda i: (counts[i], i))]
    assert screen.screened(run, [seeds[i] for i in picks + rest], seed=3, picks=2) == tier


def test_no_screening_where_the_seeds_fit_or_for_binary_size(programs, evaluator, monkeypatch):
    monkeypatch.setattr(screen, "SAMPLE_INSTRUCTIONS", 100)
    program = programs["loops.c"]
    seeds = coreset_genomes(_SEEDS)
    fast = _run(evaluator, program, "instcount", oz_seconds=0.01)
    assert screen.screened(fast, seeds) == seeds
    size = _run(evaluator, program, "size", oz_seconds=10.0)
    assert screen.screened(size, seeds) == seeds


def test_optimize_screens_and_is_never_worse_than_oz(programs, evaluator, monkeypatch):
    """A search too short for its seeds screens them (every seed still tried, in a
    new order) and returns a list no worse than -Oz; --no-screen does not screen."""
    monkeypatch.setattr(screen, "SAMPLE_INSTRUCTIONS", 100)
    calls = []

    def spy(run, seeds, seed=0, picks=0):
        out = screen.screened(run, seeds, seed, picks)
        calls.append((list(seeds), out))
        return out

    monkeypatch.setattr(tuner, "screened", spy)
    program = programs["loops.c"]
    for screened in (True, False):
        config = TuneConfig(
            budget=Budget(0.01), metric="instcount", coreset=_SEEDS, screen=screened
        )
        result = optimize(evaluator, program, config)
        assert result.best.instcount <= result.oz.instcount
    [(seeds, out)] = calls
    assert sorted(map(pipeline_text, out)) == sorted(map(pipeline_text, seeds))


def test_llmc_optimize_no_screen(monkeypatch, capsys):
    """`llmc optimize` screens by default (the model's picks ahead of the coreset) and
    not with --no-screen."""
    calls = []

    def spy(run, seeds, seed=0, picks=0):
        calls.append(picks)
        return list(seeds)

    monkeypatch.setattr(tuner, "screened", spy)
    argv = ["optimize", str(FIXTURES / "loops.c"), "--objective", "instcount", "--budget", "0.01"]
    assert main([*argv, "--no-cache", "--no-screen"]) == 0
    assert calls == []
    assert main([*argv, "--no-cache"]) == 0
    assert calls == [4]  # the built-in model's 4 lists
