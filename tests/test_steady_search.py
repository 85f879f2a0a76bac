"""Steady-state search: the pool takes tasks added while it runs, and search hands a
worker that comes free a child chosen from every result so far."""

from __future__ import annotations

import random

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.pipeline import Pass
from llmcompiler.search.run import Budget, SearchRun
from llmcompiler.search.space import pipeline_text

_LISTS = ["function(sroa)", "function(sroa,gvn)", "function(sroa,instcombine<no-verify-fixpoint>)"]


def test_tasks_added_while_the_pool_runs_are_taken(programs):
    """Tasks appended between results are run, a second -Oz (the first is done) too."""
    program = programs["loops.c"]
    added = [[_LISTS[0], "default<Oz>"], [_LISTS[1]]]  # after the first and second results
    with Evaluator(jobs=2, timeout=60) as ev:
        tasks = [Task(program, "default<Oz>")]
        seen = {}
        for n, (index, result) in enumerate(ev.run(tasks)):
            seen[index] = result.instcount
            tasks += [Task(program, p) for p in (added[n] if n < len(added) else [])]
        alone = [ev.evaluate(program, t.pipeline).instcount for t in tasks]
    assert len(tasks) == 4 and seen == dict(enumerate(alone))
    assert seen[0] == seen[2] and seen[1] != seen[0]


def test_steady_search_learns_every_score_before_the_next_child(programs):
    """Each score reaches ``learn`` before the next child is proposed; a child known
    already is learned without an evaluation; the pool evaluates only what the run
    records, and nothing runs past the budget's end."""
    genomes = [(Pass(p, "module"),) for p in _LISTS]
    rng = random.Random(0)
    learned: dict[str, tuple] = {}
    counts = {"stale": 0, "known": 0}
    run: SearchRun

    def propose():
        counts["stale"] += not set(run.scores) <= set(learned)
        return genomes[0], rng.choice(genomes)

    def learn(parent, child, score):
        counts["known"] += pipeline_text(child) in learned
        learned[pipeline_text(child)] = score

    with Evaluator(jobs=2, timeout=60) as ev:
        run = SearchRun(ev, programs["loops.c"], Objective(metric="instcount"), Budget(1.0))
        run.steady(propose, learn)
        ended = run.elapsed()
        assert ev.stats.evaluations == run.evaluations == len(run.scores) == 3
    assert counts["stale"] == 0 and counts["known"] > 0 and learned == run.scores
    assert 1.0 <= ended < 2.0


def test_local_search_is_steady_under_a_time_budget_only(programs, evaluator):
    """Under a time budget evolution goes child by child; under an evaluation budget it
    keeps its generations (the result then does not depend on the workers)."""
    from llmcompiler.search.strategies import local_search

    calls = []
    for budget in (Budget(0.5), Budget(None, 30)):
        run = SearchRun(evaluator, programs["loops.c"], Objective(metric="instcount"), budget)
        steady = run.steady
        run.steady = lambda *a, steady=steady, b=budget: calls.append(b) or steady(*a)
        local_search(run, random.Random(0), [Pass("function(sroa)", "module")], [])
        assert run.best() is not None and run.evaluations > 1
    assert calls == [Budget(0.5)]
