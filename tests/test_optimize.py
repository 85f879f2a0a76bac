"""llmc optimize and the tuner: never worse than -Oz, minimal lists, determinism, validation."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import FIXTURES, exact_size
from llmcompiler.cli import main
from llmcompiler.engine import Evaluator, Objective
from llmcompiler.llvm import berkeley_size
from llmcompiler.pipeline import OZ
from llmcompiler.program import load_program
from llmcompiler.search.accept import OZ_DIFFERS, LinkageCheck
from llmcompiler.search.run import Budget
from llmcompiler.search.space import pipeline_text
from llmcompiler.search.tuner import TuneConfig, optimize


@pytest.fixture(scope="module")
def pool():
    with Evaluator(jobs=2) as ev:
        yield ev


def test_never_worse_than_oz(programs, pool):
    for name in ("loops.c", "float.c"):
        program = programs[name]
        oz = exact_size(program, OZ)
        for seed in range(3):  # random lists are almost always worse than -Oz
            r = optimize(
                pool,
                program,
                TuneConfig(Budget(None, 6), method="random", seed=seed, minimize=False),
            )
            assert r.oz.size == oz
            assert r.best.size <= oz and r.improvement_pct >= 0
            assert r.best.size == exact_size(program, r.pipeline)  # numbers from llc


def test_finds_improvement_and_returned_list_is_minimal(programs, pool):
    program = programs["switch.c"]
    r = optimize(pool, program, TuneConfig(Budget(None, 120), seed=1))
    assert r.best.size < r.oz.size and r.improvement_pct > 0
    assert r.best.size == exact_size(program, r.pipeline)
    genes = r.genome
    assert pipeline_text(genes) == r.pipeline
    fast = Objective()
    full = pool.evaluate(program, r.pipeline, fast)
    for i in range(len(genes)):
        shorter = pipeline_text(genes[:i] + genes[i + 1 :])
        without = pool.evaluate(program, shorter, fast)
        assert not without.ok or without.size > full.size, f"{genes[i].name} is removable"


def test_deterministic_for_a_seed(programs):
    config = TuneConfig(Budget(None, 60), seed=7)
    results = []
    for jobs in (1, 2):
        with Evaluator(jobs=jobs) as ev:
            r = optimize(ev, programs["recursion.c"], config)
            results.append((r.pipeline, r.best, r.evaluations))
    assert results[0] == results[1]


def test_validation_passes_for_correct_program(programs, pool):
    r = optimize(pool, programs["loops.c"], TuneConfig(Budget(None, 40), validate=True))
    assert r.validated is True
    assert r.validation == "same output and exit status as -O0"


def test_no_main_is_not_validated(pool):
    r = optimize(
        pool, load_program(FIXTURES / "tiny.ll"), TuneConfig(Budget(None, 10), validate=True)
    )
    assert r.validated is None and r.validation == "not validated (no main)"


def test_miscompiling_candidates_are_discarded(pool):
    """-Oz and every list as small fold the overflow check (UB): each winner that differs
    from -O0 is discarded and the next tried; when none is left the result says failed."""
    program = load_program(FIXTURES / "ub_overflow.c")
    r = optimize(pool, program, TuneConfig(Budget(None, 40), validate=True, attempts=3))
    assert r.discarded
    assert all(why == "validation failed: output differs from -O0" for _, why in r.discarded)
    assert OZ in dict(r.discarded)
    assert r.pipeline == OZ
    assert r.validated is False
    assert r.validation == f"validation failed: output differs from -O0 {OZ_DIFFERS}"


def test_cli_optimize_json_and_output(capsys, tmp_path):
    out = tmp_path / "best.o"
    code = main(
        [
            "optimize",
            str(FIXTURES / "switch.c"),
            "--evaluations",
            "40",
            "--json",
            "-o",
            str(out),
            "--no-coreset",
        ]
    )
    assert code == 0
    (row,) = json.loads(capsys.readouterr().out)
    for key in (
        "file",
        "objective",
        "oz",
        "best",
        "improvement_pct",
        "evaluations",
        "seconds",
        "validated",
    ):
        assert key in row
    assert row["objective"] == "size" and row["validated"] is None
    assert set(row["best"]) == {"pipeline", "summary", "size", "instcount"}
    assert berkeley_size(out.read_bytes()).binary_size == row["best"]["size"]
    assert row["best"]["size"] <= row["oz"]["size"]


def test_cli_optimize_table_and_bad_input(capsys):
    code = main(
        [
            "optimize",
            str(FIXTURES / "tiny.ll"),
            "/missing.c",
            "--evaluations",
            "10",
            "--objective",
            "instcount",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == "llmc: error: /missing.c: no such file\n"
    lines = captured.out.splitlines()
    assert lines[0].split()[:3] == ["file", "Oz", "size"]
    assert lines[2].startswith("  passes: ")


def test_cli_validation_failure_exits_nonzero(capsys):
    code = main(["optimize", str(FIXTURES / "ub_overflow.c"), "--evaluations", "20", "--validate"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"validation failed: output differs from -O0 {OZ_DIFFERS}\n" in captured.err
    assert "FAILED" in captured.out


def test_validation_names_the_undefined_symbol_when_linking_fails(capsys):
    path = FIXTURES / "undefined_ref.c"
    assert main(["optimize", str(path), "--evaluations", "5", "--validate", "--no-coreset"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"llmc: error: {path}: cannot link for validation: ")
    assert "undefined reference to `missing_function'" in err


def test_lists_that_drop_an_inlined_body_are_rejected(programs, pool):
    """elim-avail-extern before -Oz throws away f1i's C99 inline body that -Oz would
    inline (and with no inliner the body is never emitted): the object calls an f1i
    nothing defines, so such a list must not win."""
    program = load_program(FIXTURES / "inline_def.c")
    check = LinkageCheck(pool, program)
    assert check.names == {"f1i"}
    assert check.dropped("default<Oz>") is None
    why = (
        "calls f1i where -Oz inlined it; an available_externally body is never emitted, "
        "so the object needs a definition from elsewhere"
    )
    assert check.dropped("elim-avail-extern,default<Oz>") == why
    assert check.dropped("function(mem2reg)") == why  # no inlining at all: same problem
    assert check.dropped("default<Oz>,default<Oz>") is None
    assert LinkageCheck(pool, programs["loops.c"]).names == set()


#: f1i is a C99 inline body (available_externally); twin_a and twin_b are one function
#: twice, which mergefunc merges (legal, fewer instructions than -Oz)
TWINS = """inline int f1i(int x) { return x * 3 + 1; }
int twin_a(int *p, int n) { int s = 0; for (int i = 0; i < n; i++) s += p[i] * 7 ^ i; return s; }
int twin_b(int *p, int n) { int s = 0; for (int i = 0; i < n; i++) s += p[i] * 7 ^ i; return s; }
int entry(int x) { return f1i(x); }
"""


@pytest.mark.parametrize("retries", [24, 0])
def test_a_list_that_drops_an_inlined_body_does_not_use_up_the_attempts(
    tmp_path, pool, monkeypatch, retries
):
    """The best list (mergefunc, and f1i's body dropped) loses the linkage check; the
    next one that beats -Oz (mergefunc alone) is still tried with a single attempt.
    Without the retries (the old rule) that attempt is spent and -Oz comes back."""
    from llmcompiler.search import tuner

    monkeypatch.setattr(tuner, "LINKAGE_RETRIES", retries)
    source = tmp_path / "twins.c"
    source.write_text(TWINS)
    program = load_program(source)
    illegal, legal = "elim-avail-extern,default<Oz>,mergefunc", "default<Oz>,mergefunc"
    config = TuneConfig(
        budget=Budget(None, 3),
        metric="instcount",
        coreset=(illegal, legal),
        attempts=1,
        minimize=False,
        screen=False,
        per_function=False,
    )
    r = optimize(pool, program, config)
    assert r.discarded[0][0] == illegal
    assert r.discarded[0][1].startswith("calls f1i where -Oz inlined it")
    if retries:
        assert (r.pipeline, r.oz.instcount, r.best.instcount) == (legal, 35, 21)
    else:
        assert (r.pipeline, r.best.instcount) == (OZ, 35)


LOOPS_FOREVER = "int main(void) { volatile unsigned long i = 0; for (;;) i++; }\n"


def test_a_timed_out_reference_is_never_validated(tmp_path, capsys):
    source = tmp_path / "forever.c"
    source.write_text(LOOPS_FOREVER)
    argv = [str(source), "--validate", "--run-timeout", "0.3", "--evaluations", "5", "--json"]
    assert main(["optimize", *argv, "--no-cache"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["validated"] is None
    assert row["validation"] == "not validated (the -O0 build timed out after 0.3 s)"
    assert main(["optimize", *argv[:-1], "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "timed out" in captured.out.splitlines()[1]
    assert captured.err.count("llmc: warning:") == 1 and "timed out after 0.3 s" in captured.err


def test_a_candidate_that_times_out_fails_validation(tmp_path):
    from llmcompiler.search.validate import RunSpec, Validator

    source = tmp_path / "forever.c"
    source.write_text(LOOPS_FOREVER)
    validator = Validator(load_program(FIXTURES / "loops.c"), RunSpec(timeout=0.3))
    try:
        assert validator.unusable is None
        same, why = validator.check(load_program(source).bitcode)
    finally:
        validator.close()
    assert not same
    assert why == "timed out after 0.3 s, -O0 gives exit status 0"


def test_the_written_object_links_with_the_platform_default_flags(tmp_path, capsys):
    obj = tmp_path / "loops.o"
    source = str(FIXTURES / "loops.c")
    assert main(["optimize", source, "--evaluations", "20", "--no-cache", "-o", str(obj)]) == 0
    capsys.readouterr()
    exe, reference = tmp_path / "loops", tmp_path / "reference"
    link = subprocess.run(["clang-19", str(obj), "-o", str(exe)], capture_output=True, text=True)
    assert link.returncode == 0, link.stderr  # a non-PIC object fails Debian's default PIE link
    subprocess.run(["clang-19", "-O0", source, "-o", str(reference)], check=True)
    ours, theirs = (subprocess.run([str(x)], capture_output=True) for x in (exe, reference))
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)
    assert main(["opt", source, "-p", "default<Oz>", "-o", str(obj), "--no-cache"]) == 0
    link = subprocess.run(["clang-19", str(obj), "-o", str(exe)], capture_output=True, text=True)
    assert link.returncode == 0, link.stderr


def test_a_budget_shorter_than_measuring_oz_is_explained(capsys):
    """When one -Oz measurement outlasts --budget, the run says so on stderr (and how
    long a budget would let search work); the result is still reported, never worse."""
    argv = ["optimize", str(FIXTURES / "tiny.ll"), "--budget", "0.001", "--no-cache"]
    assert main([*argv, "--json", "--objective", "instcount"]) == 0
    captured = capsys.readouterr()
    (row,) = json.loads(captured.out)
    assert row["oz_seconds"] > 0.001 and row["best"]["instcount"] <= row["oz"]["instcount"]
    (line,) = captured.err.splitlines()
    assert line.startswith(f"llmc: note: {FIXTURES / 'tiny.ll'}: one -Oz measurement takes ")
    assert "more than the --budget of 0.001 s: search tried only its first lists (" in line
    assert line.endswith("a budget of 1 s or more lets it search")
