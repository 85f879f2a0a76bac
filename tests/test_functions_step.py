"""A pass list per function: the ``llmc-functions`` step, the values per function the
evaluator reports, and the search that chooses function pipelines per function."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES
from llmcompiler.engine import Objective, Task
from llmcompiler.engine.steps import split_pipeline
from llmcompiler.errors import PipelineError
from llmcompiler.llvm import Module, TargetMachine, function_sizes
from llmcompiler.llvm.toolchain import llc_object, opt, tool
from llmcompiler.pipeline import load_vocabulary, parse_pipeline, steps_in
from llmcompiler.pipeline.diff import describe
from llmcompiler.pipeline.functions import functions_step
from llmcompiler.program import load_program, program_from_ir
from llmcompiler.search.per_function import function_pipelines, per_function, vocabulary_pool
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize

INSTCOUNT = Objective(metric="instcount")
#: f and g hold the same redundant code; h is noinline already (the step must keep that).
IR = b"""
target triple = "x86_64-pc-linux-gnu"

define i32 @f(i32 %x) minsize optsize {
  %a = add i32 %x, 0
  %b = mul i32 %a, 1
  ret i32 %b
}

define i32 @g(i32 %x) minsize optsize {
  %a = add i32 %x, 0
  %b = mul i32 %a, 1
  ret i32 %b
}

define i32 @h(i32 %x) minsize noinline optsize {
  %a = add i32 %x, 0
  ret i32 %a
}
"""
CLEANUP = "function(instcombine<no-verify-fixpoint>)"


def _function_text(module: Module, name: str) -> str:
    text = module.to_text()
    start = text.index(f"@{name}(")
    return text[text.rindex("\n", 0, start) : text.index("\n}", start)]


def test_only_the_named_functions_change_and_attributes_are_restored():
    with Module.parse(IR) as original, Module.parse(IR) as module:
        with TargetMachine(module.triple) as tm:
            module.run_passes_on({"f", "h"}, CLEANUP, tm)
        module.verify()
        assert module.function_instruction_counts() == {"f": 1, "g": 3, "h": 1}
        assert sum(module.function_instruction_counts().values()) == module.instruction_count()
        assert _function_text(module, "g") == _function_text(original, "g")
        text = module.to_text()
        assert "optnone" not in text  # added for the run, removed after
        # h keeps the noinline it had; f and g never had it
        groups = [line for line in text.splitlines() if line.startswith("attributes")]
        assert groups == [
            "attributes #0 = { minsize optsize }",
            "attributes #1 = { minsize noinline optsize }",
        ]
        assert "@f(i32 %x) #0" in text and "@g(i32 %x) #0" in text and "@h(i32 %x) #1" in text


def test_the_step_through_the_evaluator_equals_doing_it_by_hand(evaluator):
    program = program_from_ir(IR, "three.ll")
    step = functions_step(["g"], CLEANUP)
    assert step == "llmc-functions<g>(function(instcombine<no-verify-fixpoint>))"
    result = evaluator.evaluate(program, f"{step},{CLEANUP}", INSTCOUNT, output="ir")
    assert result.ok and result.instcount == 3
    with Module.parse(IR) as module, TargetMachine(module.triple) as tm:
        module.run_passes_on({"g"}, CLEANUP, tm)
        module.run_passes(CLEANUP, tm)
        ours, by_hand = result.output.decode(), module.to_text()
        assert ours[ours.index("define") :] == by_hand[by_hand.index("define") :]
    values = evaluator.evaluate(program, step, INSTCOUNT, output="functions")
    assert json.loads(values.output) == {"f": 3, "g": 1, "h": 2}


def test_values_of_pipelines_run_after_one_prefix(evaluator):
    program = program_from_ir(IR, "three.ll")
    then = (CLEANUP, "function(no-such-pass)", "function(dce)")
    task = Task(program, "function(dce)", INSTCOUNT, output="functions", then=then)
    [(_, result)] = list(evaluator.run([task]))
    assert json.loads(result.output) == [{"f": 1, "g": 1, "h": 1}, None, {"f": 3, "g": 3, "h": 2}]
    with pytest.raises(ValueError, match='Task.then needs output "functions"'):
        list(evaluator.run([Task(program, "function(dce)", INSTCOUNT, then=then)]))


def _nm_sizes(obj: bytes, path: Path) -> dict[str, int]:
    path.write_bytes(obj)
    nm = subprocess.run(
        [tool("llvm-nm"), "-S", "--defined-only", str(path)], capture_output=True, text=True
    ).stdout.split()
    return {nm[i + 3]: int(nm[i + 1], 16) for i in range(0, len(nm), 4) if nm[i + 2] in "Tt"}


@pytest.mark.parametrize("triple", ["x86_64-pc-linux-gnu", "armv7-unknown-linux-gnueabihf"])
def test_code_sizes_per_function_are_llvm_nm_sizes(evaluator, tmp_path, triple):
    program = program_from_ir(IR.replace(b"x86_64-pc-linux-gnu", triple.encode()), "t.ll")
    result = evaluator.evaluate(program, "default<Oz>", Objective(), output="functions")
    obj = evaluator.evaluate(program, "default<Oz>", Objective(), output="object").output
    expected = _nm_sizes(obj, tmp_path / "t.o")
    assert set(expected) == {"f", "g", "h"} and min(expected.values()) > 0
    assert function_sizes(obj) == expected
    assert json.loads(result.output).keys() == expected.keys()  # the fast path, per function
    wasm = program_from_ir(IR.replace(b"x86_64-pc-linux-gnu", b"wasm32-unknown-unknown"), "w.ll")
    failed = evaluator.evaluate(wasm, "default<Oz>", Objective(), output="functions")
    assert not failed.ok and "sizes per function need an ELF object" in failed.error


def test_the_one_line_summary_says_what_runs_per_function():
    text = f"default<Oz>,{functions_step(['f', 'g'], 'function(gvn)')},"
    text += functions_step(["h"], "function(dse,instcombine<no-verify-fixpoint>)")
    assert describe(text) == (
        "-Oz + per function: gvn on 2 functions; dse,instcombine<no-verify-fixpoint> on 1 function"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("llmc-functions<f>", "llmc-functions needs a function pipeline"),
        ("llmc-functions<>(function(dce))", "llmc-functions needs function names"),
        ("llmc-functions<f>(dce)", "only function(...) items can run inside llmc-functions"),
        ("function(llmc-functions<f>(function(dce)))", "write it at the top level"),
        ("llmc-functions<f>(function(newgvn))", "pass 'newgvn' is excluded"),
    ],
)
def test_malformed_steps_are_rejected_clearly(text, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        parse_pipeline(text, load_vocabulary())


def test_opt_cannot_run_the_step_and_says_what_can():
    step = functions_step(["f"], CLEANUP)
    assert steps_in(f"default<Oz>,{step}") == ["llmc-functions"]
    assert split_pipeline(f"default<Oz>,{step}") == ["default<Oz>", (frozenset({"f"}), CLEANUP)]
    with pytest.raises(
        PipelineError, match="llmc-functions is llmcompiler's own step; opt-19 cannot run it"
    ):
        opt(IR, step)
    with pytest.raises(ValueError, match="cannot name function 'a,b'"):
        functions_step(["a,b"], CLEANUP)


@pytest.fixture(scope="module")
def cxx():
    return load_program(FIXTURES / "cpp_sample.cpp")


def test_per_function_plan_is_what_the_compiler_measures(evaluator, cxx):
    plan = per_function(evaluator, cxx, "default<Oz>", INSTCOUNT)
    assert plan is not None and plan.predicted < plan.before and plan.functions >= 1
    measured = evaluator.evaluate(cxx, plan.pipeline, INSTCOUNT)
    assert measured.instcount == plan.predicted
    # the same plan twice: choices do not depend on which worker finished first
    assert per_function(evaluator, cxx, "default<Oz>", INSTCOUNT) == plan
    # and opt-19 with the steps done in this process agrees on the count
    bitcode = cxx.bitcode
    for part in split_pipeline(plan.pipeline):
        if isinstance(part, tuple):
            with Module.parse(bitcode) as module, TargetMachine(cxx.triple) as tm:
                module.run_passes_on(part[0], part[1], tm)
                bitcode = module.to_bitcode()
        else:
            bitcode = opt(bitcode, part, text=False)
    with Module.parse(bitcode) as module:
        assert module.instruction_count() == plan.predicted
    assert llc_object(bitcode)  # and it compiles


def test_optimize_offers_the_plan_only_where_it_wins(evaluator, cxx):
    budget = Budget(None, 40)
    off = optimize(
        evaluator, cxx, TuneConfig(budget=budget, metric="instcount", per_function=False)
    )
    on = optimize(evaluator, cxx, TuneConfig(budget=budget, metric="instcount", validate=True))
    assert "llmc-functions" not in off.pipeline
    assert on.best.instcount < off.best.instcount
    assert on.pipeline.startswith(off.pipeline + ",llmc-functions<")
    assert on.needs_llmc and on.evaluations > off.evaluations
    assert on.validated is True  # built from the plan's bitcode, run against -O0
    assert on.best.instcount == evaluator.evaluate(cxx, on.pipeline, INSTCOUNT).instcount


def test_nothing_to_gain_leaves_the_list_alone(evaluator):
    program = program_from_ir(IR.split(b"define i32 @g")[0], "one.ll")
    plan = per_function(evaluator, program, CLEANUP, INSTCOUNT)
    assert plan.pipeline == CLEANUP and plan.functions == 0 and plan.predicted == plan.before == 1
    assert plan.evaluations == 1 + len(function_pipelines("instcount"))
    assert per_function(evaluator, program, "function(no-such-pass)", INSTCOUNT) is None


def test_the_pool_is_tried_in_the_order_learned_on_the_tuning_side():
    from importlib import resources

    shipped = json.loads(
        resources.files("llmcompiler.data")
        .joinpath("function_pipelines.instcount.json")
        .read_text()
    )
    assert "tune side" in shipped["corpus"]
    learned = [entry["pipeline"] for entry in shipped["pipelines"]]
    pool = function_pipelines("instcount")
    assert sorted(pool) == sorted(vocabulary_pool())  # every pipeline, each once
    assert pool[:5] == tuple(learned[:5])
    saved = [entry["saved_pct"] for entry in shipped["pipelines"]]
    assert saved == sorted(saved, reverse=True) and saved[0] > 0
    assert function_pipelines("size") == pool  # no order learned for size: instcount's
