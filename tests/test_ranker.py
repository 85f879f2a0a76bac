"""The built-in flag-tuning model (ranker) and the model method of the tuner, with real LLVM."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import FIXTURES, exact_size
from llmcompiler.cli import main
from llmcompiler.engine import Objective
from llmcompiler.errors import ModelError
from llmcompiler.model.base import Candidate
from llmcompiler.model.builtin import load_builtin, load_ranker
from llmcompiler.model.ranker import (
    GainMatrix,
    Ranker,
    RankerConfig,
    collect,
    cross_validate,
    program_vector,
)
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize

POOL = [
    "default<O2>",
    "function(sroa,instcombine<no-verify-fixpoint>,simplifycfg),globaldce",
    "default<Oz>,function(instcombine<no-verify-fixpoint>)",
]


def test_collect_measures_each_list_like_the_compiler(programs, evaluator):
    chosen = [programs["loops.c"], programs["switch.c"]]
    matrix = collect(evaluator, chosen, POOL)
    assert matrix.names == [p.name for p in chosen]
    assert matrix.gains.shape == (2, 3)
    assert matrix.vectors.shape[0] == 2
    for i, program in enumerate(chosen):
        oz = evaluator.evaluate(program, "default<Oz>").size
        assert matrix.oz_sizes[i] == oz
        for j, text in enumerate(POOL):
            size = evaluator.evaluate(program, text).size
            assert matrix.gains[i, j] == pytest.approx((oz - size) / oz * 100)


def test_collect_for_instruction_count_measures_instructions(programs, evaluator):
    program = programs["loops.c"]
    matrix = collect(evaluator, [program], POOL, metric="instcount")
    oz = evaluator.evaluate(program, "default<Oz>", Objective(metric="instcount")).instcount
    assert matrix.oz_sizes == [oz]
    for j, text in enumerate(POOL):
        count = evaluator.evaluate(program, text, Objective(metric="instcount")).instcount
        assert matrix.gains[0, j] == pytest.approx((oz - count) / oz * 100)


def test_matrix_round_trips_through_a_file(programs, evaluator, tmp_path):
    matrix = collect(evaluator, [programs["loops.c"]], POOL[:2])
    matrix.save(tmp_path / "m.npz")
    again = GainMatrix.load(tmp_path / "m.npz")
    assert again.names == matrix.names and again.lists == matrix.lists
    assert again.metric == matrix.metric == "size"
    assert np.array_equal(again.gains, matrix.gains)


def _synthetic() -> GainMatrix:
    # Programs 0-2 look alike; list 0 helps 0 and 1, list 1 (a near copy of list 0)
    # helps the same ones a little less, list 2 helps program 2 only.
    vectors = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [9.0, 9.0]])
    gains = np.array(
        [[5.0, 4.9, 0.0], [5.0, 4.9, 0.0], [0.0, 0.0, 6.0], [0.0, 0.0, 0.0]], dtype=float
    )
    return GainMatrix(["a", "b", "c", "d"], vectors, gains, ["L0", "L1", "L2"], [1, 1, 1, 1])


def test_proposals_cover_different_programs_not_near_copies():
    ranker = Ranker.from_matrix(_synthetic(), RankerConfig(neighbours=3, temperature=1e6))
    picks = ranker.select(np.array([0.05, 0.05]), k=2)
    assert picks == [0, 2]  # L1 would only repeat L0's wins
    assert ranker.select(np.array([0.05, 0.05]), k=10) == [0, 2, 1]  # at most the pool


def test_cross_validation_reports_model_pool_and_oracle():
    scores = cross_validate(_synthetic(), RankerConfig(neighbours=2, temperature=1e6), k=1)
    assert scores["oracle_pct"] == pytest.approx((5 + 5 + 6 + 0) / 4)
    assert scores["pool_order_pct"] == pytest.approx((5 + 5 + 0 + 0) / 4)
    assert 0 <= scores["model_pct"] <= scores["oracle_pct"]


def test_leaving_out_the_whole_project_scores_what_an_unseen_project_gets(tmp_path):
    """Two projects of two look-alike programs each, each project with its own winning
    list: leaving one program out finds the winner in its twin; leaving its project out
    cannot (the other project's list gains nothing there), as on a project never seen."""
    vectors = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    gains = np.array([[4.0, 0.0], [4.0, 0.0], [0.0, 3.0], [0.0, 3.0]])
    matrix = GainMatrix(["a1", "a2", "b1", "b2"], vectors, gains, ["LA", "LB"], [1] * 4)
    config = RankerConfig(neighbours=1, temperature=1e6, prior=0.0)
    assert cross_validate(matrix, config, k=1)["model_pct"] == pytest.approx(3.5)
    groups = ["a", "a", "b", "b"]
    assert cross_validate(matrix, config, k=1, groups=groups)["model_pct"] == 0.0
    matrix.save(tmp_path / "m.npz")
    (tmp_path / "groups.txt").write_text("a1\ta\tkind\na2\ta\tkind\nb1\tb\nb2\tb\n")
    argv = ["ranker", "fit", str(tmp_path / "m.npz"), "-o", str(tmp_path / "r"), "-k", "1"]
    assert main([*argv, "--groups", str(tmp_path / "groups.txt")]) == 0
    meta = json.loads((tmp_path / "r" / "llmc_ranker.json").read_text())
    assert meta["cross_validation"]["left_out"] == "each program's project"
    (tmp_path / "none.txt").write_text("x\ty\n")
    assert main([*argv, "--groups", str(tmp_path / "none.txt")]) == 1


def test_fit_save_load_propose(programs, evaluator, tmp_path):
    chosen = [programs[n] for n in ("loops.c", "switch.c", "recursion.c")]
    matrix = collect(evaluator, chosen, POOL)
    matrix.save(tmp_path / "m.npz")
    assert (
        main(["ranker", "fit", str(tmp_path / "m.npz"), "-o", str(tmp_path / "r"), "-k", "2"]) == 0
    )
    model = load_ranker(tmp_path / "r")
    meta = json.loads((tmp_path / "r" / "llmc_ranker.json").read_text())
    assert meta["lists"] == POOL and meta["training"]["programs"] == 3
    candidates = model.propose(programs["globals.c"], 2)
    assert len(candidates) == 2
    assert all(c.pipeline in POOL and c.error is None for c in candidates)
    assert len(program_vector(programs["globals.c"])) == matrix.vectors.shape[1]


def test_load_errors(tmp_path):
    with pytest.raises(ModelError, match="not a ranker model"):
        load_ranker(tmp_path)


def test_builtin_model_proposes_valid_lists(programs):
    model = load_builtin()
    candidates = model.propose(programs["loops.c"], 5)
    assert len(candidates) == 5
    assert all(c.pipeline and c.error is None for c in candidates)
    assert len({c.pipeline for c in candidates}) == 5


class Scripted:
    """A pass-list model that answers what the test says (a double for a model)."""

    name = "scripted"

    def __init__(self, candidates=None, error: Exception | None = None) -> None:
        self.candidates, self.error = candidates or [], error

    def propose(self, program, k):
        if self.error:
            raise self.error
        return self.candidates

    def close(self):
        pass


def test_model_method_keeps_the_best_candidate_measured_by_llc(programs, evaluator):
    program = programs["loops.c"]
    scripted = Scripted([Candidate(p) for p in POOL])
    r = optimize(evaluator, program, TuneConfig(method="model", model=scripted, candidates=3))
    oz = exact_size(program, "default<Oz>")
    sizes = {p: exact_size(program, p) for p in POOL}
    assert r.oz.size == oz
    assert r.evaluations == 1 + len(POOL)
    assert [p.pipeline for p in r.proposals] == POOL
    assert [p.size for p in r.proposals] == [sizes[p] for p in POOL]
    best = min(sizes.values())
    assert r.best.size == min(best, oz)
    assert r.pipeline == (min(sizes, key=sizes.get) if best < oz else "default<Oz>")


def test_model_method_garbage_falls_back_to_oz(programs, evaluator):
    program = programs["loops.c"]  # (on switch.c, -Oz is larger than -O0)
    scripted = Scripted(
        [
            Candidate(None, "no pass list in the answer"),
            Candidate("function(codegenprepare)"),  # crashes the worker (not validated here)
            Candidate("default<O0>"),  # valid, worse than -Oz
        ]
    )
    r = optimize(evaluator, program, TuneConfig(method="model", model=scripted))
    assert r.pipeline == "default<Oz>" and r.improvement_pct == 0.0
    assert r.proposals[0].error == "no pass list in the answer"
    assert r.proposals[1].size is None and r.proposals[1].error
    assert r.proposals[2].size > r.oz.size


def test_a_failing_model_does_not_stop_the_tuner(programs, evaluator):
    scripted = Scripted(error=RuntimeError("CUDA out of memory"))
    r = optimize(evaluator, programs["globals.c"], TuneConfig(method="model", model=scripted))
    assert r.pipeline == "default<Oz>"
    assert r.proposals[0].error == "model failed: RuntimeError: CUDA out of memory"
    search = optimize(
        evaluator,
        programs["globals.c"],
        TuneConfig(budget=Budget(None, 20), model=scripted),
    )
    assert search.oz.size >= search.best.size


def test_cli_optimize_method_model_json(tmp_path, capsys):
    rc = main(
        ["optimize", str(FIXTURES / "loops.c"), "--method", "model", "--candidates", "3", "--json"]
    )
    assert rc == 0
    (out,) = json.loads(capsys.readouterr().out)
    assert out["method"] == "model" and out["evaluations"] <= 4
    assert len(out["proposals"]) == 3
    assert out["best"]["size"] <= out["oz"]["size"]


def test_cli_collects_and_fits_for_instruction_count(tmp_path, capsys):
    pool, more = tmp_path / "pool.json", tmp_path / "more.json"
    pool.write_text(json.dumps({"lists": [{"pipeline": p} for p in POOL[:2]]}))
    more.write_text(json.dumps({"lists": [{"pipeline": p} for p in POOL[1:]]}))
    matrix_path, model = tmp_path / "m.npz", tmp_path / "r"
    programs = [str(FIXTURES / n) for n in ("loops.c", "switch.c")]
    argv = ["ranker", "collect", *programs, "--lists", str(pool), "--lists", str(more)]
    argv += ["--objective", "instcount"]
    assert main([*argv, "-o", str(matrix_path), "--jobs", "1"]) == 0
    matrix = GainMatrix.load(matrix_path)
    assert matrix.metric == "instcount" and matrix.lists == POOL  # each list once
    assert main(["ranker", "fit", str(matrix_path), "-o", str(model), "-k", "1"]) == 0
    meta = json.loads((model / "llmc_ranker.json").read_text())
    assert meta["training"]["objective"] == "instcount"
