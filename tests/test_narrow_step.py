"""The ``llmc-narrow`` pipeline step: equal to doing it by hand, usable from ``llmc opt``
and ``llmc optimize``, rejected where it cannot run (nested, opt-19)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from llmcompiler.analysis.narrow import apply_narrowing
from llmcompiler.cli import main
from llmcompiler.engine import Evaluator, Objective
from llmcompiler.engine.result import INVALID_PIPELINE, OK
from llmcompiler.engine.steps import STEPS, split_pipeline
from llmcompiler.errors import PipelineError
from llmcompiler.llvm import Module, TargetMachine, berkeley_size
from llmcompiler.llvm.toolchain import llc_object, opt
from llmcompiler.pipeline import load_vocabulary, validate
from llmcompiler.program import load_program, program_from_ir
from llmcompiler.search.run import Budget
from llmcompiler.search.space import NARROW, OZ_GENE, genes, mutate
from llmcompiler.search.tuner import TuneConfig, optimize

NARROW_C = Path(__file__).parent / "fixtures" / "analysis" / "narrow.c"
PIPELINE = "function(mem2reg),llmc-narrow,default<Oz>"
EXACT = Objective(size_path="llc")
#: Nothing to narrow: a product of two unknown ints can overflow any narrower type.
NOTHING_IR = b"""
define i32 @mix(i32 %a, i32 %b) {
  %p = mul i32 %a, %b
  %q = add i32 %p, 7
  ret i32 %q
}
"""


@pytest.fixture(scope="module")
def program():
    return load_program(NARROW_C)


@pytest.fixture(scope="module")
def pool():
    with Evaluator(jobs=1, timeout=60) as ev:
        yield ev


def _by_hand(program) -> tuple[int, int]:
    """mem2reg, narrowing, -Oz on one module; (llc-19 binary size, instruction count)."""
    with Module.parse(program.bitcode, program.name) as module:
        with TargetMachine(module.triple) as tm:
            module.run_passes("function(mem2reg)", tm)
            apply_narrowing(module)
            module.run_passes("default<Oz>", tm)
        return berkeley_size(llc_object(module.to_bitcode())).binary_size, (
            module.instruction_count()
        )


def test_step_equals_the_manual_composition_and_shrinks_the_fixture(program, pool):
    result = pool.evaluate(program, PIPELINE, EXACT)
    assert result.status == OK
    assert (result.size, result.instcount) == _by_hand(program)
    oz = pool.evaluate(program, "default<Oz>", EXACT)
    assert result.size < oz.size  # narrow.c: 420 bytes against 423 at -Oz


def test_split_pipeline():
    assert split_pipeline(PIPELINE) == ["function(mem2reg)", "llmc-narrow", "default<Oz>"]
    assert split_pipeline("llmc-narrow, llmc-narrow") == ["llmc-narrow", "llmc-narrow"]
    text = "function(simplifycfg<bonus-inst-threshold=1;no-forward-switch-cond>,sroa),globaldce"
    assert split_pipeline(f"{text},llmc-narrow") == [text, "llmc-narrow"]
    assert split_pipeline("default<Oz>") == ["default<Oz>"]  # no step: untouched
    assert split_pipeline(" ") == []
    with pytest.raises(PipelineError, match="empty pass name"):
        split_pipeline("llmc-narrow,,default<Oz>")
    assert set(STEPS) == set(load_vocabulary().steps)


def test_llmc_opt_runs_the_step_and_writes_verified_ir(capsys, tmp_path):
    out = tmp_path / "narrowed.ll"
    assert main(["opt", str(NARROW_C), "-p", "function(mem2reg),llmc-narrow", "-o", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text()
    with Module.parse(text.encode()) as module:
        module.verify()
        assert module.instruction_count() > 0
    assert " i8 " in text and "phi i8" in text  # the 100-iteration counter became i8
    assert main(["opt", str(NARROW_C), "-p", PIPELINE, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert (row["size"], row["instcount"]) == _by_hand(load_program(NARROW_C))


def test_nested_step_is_rejected_clearly(program, pool, capsys):
    nested = "function(mem2reg,llmc-narrow),default<Oz>"
    with pytest.raises(PipelineError, match="write it at the top level of the pipeline"):
        validate(nested)
    result = pool.evaluate(program, nested, EXACT)
    assert result.status == INVALID_PIPELINE
    assert "llmc-narrow is llmcompiler's own step" in result.error
    assert "top level" in result.error
    assert main(["opt", str(NARROW_C), "-p", nested]) == 1
    assert "llmc-narrow is llmcompiler's own step" in capsys.readouterr().err
    with pytest.raises(PipelineError, match="takes no parameters"):
        validate("llmc-narrow<fast>")
    assert validate(PIPELINE).format() == PIPELINE


def test_opt19_refuses_the_step(program):
    with pytest.raises(PipelineError) as err:
        opt(program.bitcode, PIPELINE)
    assert str(err.value).startswith(
        "llmc-narrow is llmcompiler's own step; opt-19 cannot run it; use llmc opt"
    )


def test_passes_lists_the_step(capsys):
    assert main(["passes"]) == 0
    listing = capsys.readouterr().out
    line = next(ln for ln in listing.splitlines() if ln.startswith("llmc-narrow "))
    assert "not an LLVM pass" in line and "opt-19 cannot run it" in line
    assert main(["passes", "--check", PIPELINE]) == 0
    assert "run this list with llmc opt" in capsys.readouterr().err


def test_search_can_draw_the_step():
    pool = genes(load_vocabulary())
    assert NARROW in pool and NARROW.level == "module"
    rng = random.Random(0)
    genome = (OZ_GENE,)
    for _ in range(2000):
        genome = mutate(rng, genome, pool, max_len=8)
        if NARROW in genome:
            break
    assert NARROW in genome


def test_optimize_keeps_a_list_with_the_step(program, pool, capsys, tmp_path):
    config = TuneConfig(Budget(None, 4), coreset=(PIPELINE,), seed=0)
    result = optimize(pool, program, config)
    assert result.pipeline == PIPELINE  # neither mem2reg nor the step can be dropped
    assert result.needs_llmc and result.to_json()["needs_llmc"] is True
    assert result.best.size == _by_hand(program)[0] < result.oz.size
    coreset = tmp_path / "coreset.json"
    coreset.write_text(json.dumps({"lists": [{"pipeline": PIPELINE}]}))
    argv = [
        "optimize",
        str(NARROW_C),
        "--coreset",
        str(coreset),
        "--evaluations",
        "4",
        "--no-model",
    ]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "passes: mem2reg,llmc-narrow,-Oz" in table and "reproduce it with llmc opt" in table
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["needs_llmc"] is True


def test_module_with_nothing_to_narrow_passes_through(pool):
    nothing = program_from_ir(NOTHING_IR, "nothing.ll")
    plain = pool.evaluate(nothing, "", EXACT, output="ir")
    stepped = pool.evaluate(nothing, "llmc-narrow", EXACT, output="ir")
    assert stepped.status == OK
    assert stepped.output == plain.output
    assert (stepped.size, stepped.instcount) == (plain.size, plain.instcount)
