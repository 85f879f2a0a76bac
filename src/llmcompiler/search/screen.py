"""Screening the seeds on a sample of a large module before search spends its budget.

On a module of tens of thousands of instructions one evaluation takes seconds, and a
5-second search tries only the first few seeds (the model's picks, then the coreset in
its order): the lists that would have won are often further down. A sample of the
module (:func:`llmcompiler.llvm.sample.sample_functions`: a few thousand instructions
of its functions, with what they call) runs every list in a small fraction of that
time, and the seeds are tried on the whole module in the order of their scores on the
sample (README, "How `llmc optimize` searches": measured on the real-code test side
against search without it). Only instruction count screens: for binary size the
sample's order was level or worse on the large test modules (a part's object size
leaves out much of what decides a module's: its data, the layout of the whole).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from llmcompiler.engine import NOT_STARTED, Deadline, Task
from llmcompiler.errors import LLMCError
from llmcompiler.llvm.sample import sample_functions
from llmcompiler.program import program_from_ir
from llmcompiler.search.run import FAILED, Score, SearchRun
from llmcompiler.search.space import Genome, pipeline_text

#: objectives whose seeds are screened
METRICS = ("instcount",)
#: IR instructions in a sample; modules under twice this are not sampled
SAMPLE_INSTRUCTIONS = 3000
#: screening (the sample's cut included) ends after this share of the time budget, or
#: after OZ_FACTOR times -Oz's time if that is later: on a module where -Oz takes
#: seconds, search's patient first round runs past a short budget anyway, and the
#: time of one -Oz evaluation of the whole module screens every seed on the sample
SHARE = 0.3
OZ_FACTOR = 1.0


def screened(
    run: SearchRun, seeds: Sequence[Genome], seed: int = 0, picks: int = 0
) -> list[Genome]:
    """``seeds`` in the order of their scores on a sample of the module, when they
    would not all fit the time budget on the whole module; else ``seeds`` as they are.
    The first ``picks`` seeds (the model's, which it ranked for the whole module) stay
    ahead of the rest, ordered among themselves by the sample. In each part, ties and
    the lists the time left no room for keep their order after the screened ones, and
    lists that fail on the sample go last. The sample's evaluations are not counted as
    search's."""
    seeds = list(seeds)
    scores = _scores(run, seeds, seed)
    if scores is None:
        return seeds
    texts = [pipeline_text(g) for g in seeds]

    def key(i: int) -> tuple:
        tier = 0 if i < picks else 1
        score = scores.get(texts[i])
        if score is None:
            return (tier, 1, FAILED, i)  # not screened: after the screened, in order
        return (tier, 2 if score == FAILED else 0, score, i)

    return [seeds[i] for i in sorted(range(len(seeds)), key=key)]


def _scores(run: SearchRun, seeds: list[Genome], seed: int) -> dict[str, Score] | None:
    """Each seed's score on a sample of the module (pipeline text: score; FAILED where
    it failed there; missing where the time ran out), or None where nothing is
    screened: another objective, no time budget, seeds that fit it, no sample."""
    if run.objective.metric not in METRICS or len(seeds) < 2 or not run.expensive(len(seeds)):
        return None  # every seed fits the budget (or there is none): nothing to choose
    budget, oz_seconds = run.budget.seconds, run.oz_seconds()
    end = max(run.start + SHARE * budget, time.monotonic() + OZ_FACTOR * oz_seconds)
    try:
        sample = sample_functions(run.program.bitcode, SAMPLE_INSTRUCTIONS, seed)
        if sample is None or time.monotonic() >= end:
            return None
        program = program_from_ir(sample.bitcode, f"{run.program.name} (sample)")
    except LLMCError:
        return None
    deadline = Deadline(end)
    tasks = [
        Task(program, text, run.objective, timeout=run.timeout, deadline=deadline)
        for text in dict.fromkeys(pipeline_text(g) for g in seeds)
    ]
    scores: dict[str, Score] = {}
    results = run.evaluator.run(tasks)
    try:
        for index, result in results:
            if result.ok:
                scores[tasks[index].pipeline] = run.score(result.size, result.instcount)
            elif result.error != NOT_STARTED:
                scores[tasks[index].pipeline] = FAILED
    finally:
        results.close()
    return scores
