"""``llmc narrow``: ranges, opportunities it must find, cases it must refuse, and an
applied narrowing that verifies and behaves like the original."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmcompiler.analysis.intervals import Interval, binary, full, refine
from llmcompiler.analysis.narrow import apply_narrowing, find_narrowing
from llmcompiler.cli import main
from llmcompiler.llvm import Module, TargetMachine
from llmcompiler.program import load_program
from llmcompiler.search.validate import Validator

ANALYSIS = Path(__file__).parent / "fixtures" / "analysis"
NARROW_C = ANALYSIS / "narrow.c"
COUNTING = ANALYSIS / "counting.ll"


@pytest.fixture(scope="module")
def narrow_program():
    return load_program(NARROW_C)


def _ssa(program, pipeline="function(mem2reg)") -> Module:
    module = Module.parse(program.bitcode, program.name)
    module.run_passes(pipeline, TargetMachine(module.triple))
    return module


def test_interval_arithmetic():
    assert binary("add", Interval(0, 99), Interval(1, 1), 64) == Interval(1, 100)
    # i8 add that can leave the type wraps to the full range, unless nsw forbids it
    assert binary("add", Interval(100, 120), Interval(10, 10), 8) == full(8)
    assert binary("add", Interval(100, 120), Interval(10, 10), 8, nsw=True) == Interval(110, 127)
    assert binary("and", full(32), Interval(0, 15), 32) == Interval(0, 15)
    assert binary("srem", Interval(-50, 50), Interval(8, 8), 32) == Interval(-7, 7)
    assert binary("udiv", Interval(0, 1000), Interval(10, 10), 32) == Interval(0, 100)
    assert binary("lshr", full(32), Interval(24, 24), 32) == Interval(0, 255)
    assert binary("mul", full(32), full(32), 32) == full(32)
    assert refine(full(32), "slt", Interval(100, 100), 32) == Interval(-(2**31), 99)
    assert refine(full(32), "ult", Interval(100, 100), 32) == Interval(0, 99)
    assert refine(Interval(0, 10), "ne", Interval(10, 10), 32) == Interval(0, 9)
    assert refine(Interval(5, 5), "sgt", Interval(5, 9), 32) is None


def test_finds_the_bounded_counter_and_the_masked_byte(narrow_program):
    with _ssa(narrow_program) as module:
        report = find_narrowing(module, "histogram")
    found = {(o.kind, o.opcode, o.width, o.narrow_width): o for o in report.opportunities}
    counter = found[("induction variable", "phi", 64, 8)]
    assert counter.result == Interval(0, 100)
    assert "induction variable with step 1" in counter.proof
    masked = found[("operation", "and", 32, 8)]
    assert masked.result == Interval(0, 15) and "commutes with truncation" in masked.proof
    assert ("operation", "srem", 64, 16) in found  # operands [0, 312] and 64 fit i16
    # the running count of a 64-bit accumulator has no bound: it stays wide
    assert any(r.opcode == "phi" and "does not fit" in r.reason for r in report.refused)


def test_refuses_where_overflow_is_possible(narrow_program):
    with _ssa(narrow_program) as module:
        report = find_narrowing(module, "mix")
        sums = find_narrowing(module, "sum_bytes")
    assert report.opportunities == []
    reasons = {r.opcode: r.reason for r in report.refused}
    assert reasons["mul"] == f"result {full(32)} does not fit a narrower type"
    # the counter of 1000 iterations fits i16, the sum of 1000 bytes is not narrowed
    assert {(o.opcode, o.narrow_width) for o in sums.opportunities} >= {("phi", 16)}
    assert all(o.opcode != "phi" or o.kind == "induction variable" for o in sums.opportunities)
    assert any(r.opcode == "add" and r.width == 32 for r in sums.refused)


def test_counting_loops_that_exit_on_equality():
    with Module.parse(COUNTING.read_bytes(), COUNTING.name) as module:
        report = find_narrowing(module)
    by_function: dict[str, list] = {}
    for o in report.opportunities:
        by_function.setdefault(o.function, []).append(o)
    counter = next(o for o in by_function["count_to_200"] if o.opcode == "phi")
    assert counter.result == Interval(0, 199) and counter.narrow_width == 8
    assert "counting-loop rule" in counter.proof
    # an unknown start may lie past 200 and wrap around: no narrowing
    assert "count_from_unknown" not in by_function
    assert "sum_bytes" not in by_function


@pytest.mark.parametrize("pre", ["function(mem2reg)", "default<O2>"])
def test_applied_narrowing_verifies_and_runs_identically(narrow_program, pre):
    with _ssa(narrow_program, pre) as module:
        report = apply_narrowing(module)  # verifies, raises InvalidIRError otherwise
        text = module.to_text()
        narrowed = module.to_bitcode()
    assert len(report.opportunities) >= 8
    assert "phi i8" in text and "phi i16" in text
    validator = Validator(narrow_program)
    try:
        same, detail = validator.check(narrowed)
    finally:
        validator.close()
    assert same, detail


def test_cli_apply_writes_verified_ir_and_checks_it(tmp_path, capsys):
    out = tmp_path / "narrow.ll"
    assert main(["narrow", str(NARROW_C), "--apply", "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verified"] is True and data["differential"]["same"] is True
    assert data["opportunities"] and isinstance(data["refused"], int)
    with Module.parse(out.read_bytes(), "narrow.ll") as module:
        module.verify()


def test_cli_text_report_and_usage_errors(capsys):
    assert main(["narrow", str(COUNTING), "--pre", "", "--refused"]) == 0
    captured = capsys.readouterr()
    assert "@count_to_200 %i: induction variable (phi) i64 -> i8 range [0, 199]" in captured.out
    assert "@count_from_unknown %i: phi i64 stays" in captured.out
    assert "3 narrowing opportunities" in captured.err
    assert main(["narrow", str(COUNTING), "--apply"]) == 2
    assert "--apply needs -o" in capsys.readouterr().err
