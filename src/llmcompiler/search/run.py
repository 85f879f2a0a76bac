"""One tuning run's bookkeeping: the budget, every pass list evaluated and its score."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from llmcompiler.engine import NOT_STARTED, Deadline, EvalResult, Evaluator, Objective, Task
from llmcompiler.program import Program
from llmcompiler.search.space import OZ_GENE, Genome, pipeline_text

Score = tuple[float, float]
FAILED: Score = (math.inf, math.inf)
#: A list evaluated patiently (search's first round) may run past the budget's end, for
#: at most PATIENT_FACTOR times -Oz's time (lists built on -Oz take about as long; 3 cut
#: off the winner of a large module, 2.7 times -Oz's time alone, when both workers ran
#: first-round lists at once: session 25).
PATIENT_FACTOR = 4.0
#: steady search stops proposing for a moment after this many known children in a row
_KNOWN_IN_A_ROW = 64


@dataclass(frozen=True)
class Budget:
    """When a search stops: after ``seconds`` of wall time or ``evaluations`` new
    evaluations, whichever comes first (None: no limit on that one)."""

    seconds: float | None = 5.0
    evaluations: int | None = None


class SearchRun:
    """Evaluates pass lists for one program within a budget, remembering every score.

    Scores are ``(objective, other metric)``; lower is better; failures score FAILED.
    Pass lists with the same pipeline text are evaluated once.
    """

    def __init__(
        self, evaluator: Evaluator, program: Program, objective: Objective, budget: Budget
    ) -> None:
        self.evaluator = evaluator
        self.program = program
        self.objective = objective
        self.budget = budget
        self.start = time.monotonic()
        self.evaluations = 0
        self.scores: dict[str, Score] = {}
        self.genomes: dict[str, Genome] = {}
        self.results: dict[str, tuple[int | None, int | None]] = {}  # text -> (size, instcount)
        #: seconds one evaluation may take (None: the evaluator's timeout); the tuner sets
        #: it from -Oz's time so that a pathologically slow list cannot eat the budget.
        self.timeout: float | None = None
        self.times: dict[str, float] = {}  # text -> seconds the evaluation took
        #: seconds of the time budget kept for the work after search (minimization, exact
        #: measurement, checks); the tuner sets it from -Oz's time
        self.reserve = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def exhausted(self) -> bool:
        """True when the time or evaluation budget is spent."""
        b = self.budget
        return (b.seconds is not None and self.elapsed() >= b.seconds - self.reserve) or (
            b.evaluations is not None and self.evaluations >= b.evaluations
        )

    def oz_seconds(self) -> float | None:
        """Seconds -Oz's evaluation took in this run (None: not measured yet)."""
        return self.times.get(pipeline_text((OZ_GENE,)))

    @property
    def jobs(self) -> int:
        """How many evaluations the run's evaluator makes at once."""
        return getattr(self.evaluator, "jobs", 1)

    def expensive(self, lists: int) -> bool:
        """True when evaluating ``lists`` lists as slow as -Oz would overrun the time
        budget (False with no time budget or -Oz not measured yet)."""
        oz_seconds, left = self.oz_seconds(), self.time_left()
        if left is None or oz_seconds is None:
            return False
        return oz_seconds * lists / self.jobs > left

    def overtime(self) -> bool:
        """True once a time budget is spent, the reserve after search included."""
        return self.budget.seconds is not None and self.elapsed() >= self.budget.seconds

    def score(self, size: int | None, instcount: int | None) -> Score:
        if self.objective.metric == "size":
            return (float(size), float(instcount))
        return (float(instcount), 0.0)

    def evaluate(
        self, genomes: list[Genome], force: bool = False, patient: bool = False
    ) -> list[Score]:
        """Evaluate pass lists (new ones across the pool); return their scores in order.

        The batch is cut to what is left of an evaluation budget unless ``force``. Each
        list may take ``timeout`` seconds and must end by the end of the time budget
        (before the reserve) unless ``force``; with ``patient``, it is not held to the
        budget's end but to PATIENT_FACTOR times -Oz's time if that is longer (not cut
        when -Oz was not measured). A list the budget's end leaves unstarted is not run
        (it scores FAILED and stays unknown).
        """
        self.stream(genomes, patient=len(genomes) if patient else 0, force=force)
        return [self.scores.get(pipeline_text(g), FAILED) for g in genomes]

    def stream(
        self,
        genomes: list[Genome],
        patient: int = 0,
        force: bool = False,
        until: float | None = None,
    ) -> None:
        """Evaluate pass lists in their order as workers come free, recording each as it
        arrives, until all are done or the time budget is spent and the first
        ``patient`` lists are done (those are held to :meth:`evaluate`'s patient limit).

        While patient lists run past the budget's end, the other workers go on with the
        lists after them: a slow first list does not leave a worker idle. Lists still
        running when the patient ones are done and the budget is spent are stopped.
        ``until`` (``time.monotonic()``) ends the stream earlier than the budget does.
        """
        new: dict[str, Genome] = {}
        for g in genomes:
            text = pipeline_text(g)
            if text not in self.scores and text not in new:
                new[text] = g
        if self.budget.evaluations is not None and not force:
            left = max(0, self.budget.evaluations - self.evaluations)
            new = dict(list(new.items())[:left])
        waiting = {pipeline_text(g) for g in genomes[:patient]} & set(new)
        end = self.search_end()
        if until is not None:
            end = until if end is None else min(end, until)
        slow, patient_limit = self.timeout, self.timeout
        oz_seconds = self.oz_seconds()
        if not force and end is not None and slow is not None and oz_seconds is not None:
            left = end - time.monotonic()
            patient_limit = min(slow, max(left, PATIENT_FACTOR * oz_seconds))
        deadline = None
        if end is not None and not force:
            hold = end  # the others may use the workers as long as patient lists may run
            if waiting and patient_limit is not None:
                hold = max(end, time.monotonic() + patient_limit)
            deadline = Deadline(hold)
        tasks = [
            Task(self.program, text, self.objective, timeout=patient_limit)
            if text in waiting
            else Task(self.program, text, self.objective, timeout=slow, deadline=deadline)
            for text in new
        ]
        texts = list(new)
        results = self.evaluator.run(tasks)
        try:
            for index, result in results:
                if result.error == NOT_STARTED:
                    continue
                self.count(new[texts[index]], result)
                waiting.discard(texts[index])
                if not waiting and deadline is not None and end is not None:
                    deadline.at = end
                    if self.exhausted() or time.monotonic() >= end:
                        break
        finally:
            results.close()

    def steady(
        self,
        propose: Callable[[], tuple[Genome, Genome]],
        learn: Callable[[Genome, Genome, Score], None],
    ) -> None:
        """Steady-state search until the budget is spent: keep every worker busy with a
        child from ``propose()`` (``(parent, child)``), and hand each score to
        ``learn(parent, child, score)`` as it arrives, before the next child is proposed.

        No worker waits for the slowest of a batch, and each child is chosen knowing every
        result so far. Which results arrive first depends on timing, so the run is not
        deterministic with more than one worker: :func:`~.strategies.local_search` uses
        it under a time budget only. A child evaluated before is learned from at once,
        and no evaluation runs past the budget's end.
        """
        end = self.search_end()
        deadline = None if end is None else Deadline(end)
        while not self.exhausted():
            tasks: list[Task] = []  # the pool takes those added while it runs
            flight: dict[int, tuple[Genome, Genome]] = {}  # task index -> (parent, child)
            self._fill(tasks, flight, propose, learn, deadline)
            if not tasks:
                continue
            results = self.evaluator.run(tasks)
            try:
                for index, result in results:
                    parent, child = flight.pop(index)
                    if result.error == NOT_STARTED:
                        continue
                    self.count(child, result)
                    learn(parent, child, self.scores[pipeline_text(child)])
                    if self.exhausted():
                        break
                    self._fill(tasks, flight, propose, learn, deadline)
            finally:
                results.close()

    def _fill(self, tasks, flight, propose, learn, deadline) -> None:
        """Add children to ``tasks`` until every worker has one. Known children are
        learned from at once; after _KNOWN_IN_A_ROW of them in a row (a small program's
        neighbourhood is soon evaluated) it gives up until the next result."""
        known = 0
        while len(flight) < self.jobs and known < _KNOWN_IN_A_ROW and not self.exhausted():
            parent, child = propose()
            text = pipeline_text(child)
            if text in self.scores or any(text == tasks[i].pipeline for i in flight):
                if text in self.scores:
                    learn(parent, child, self.scores[text])
                known += 1
                continue
            flight[len(tasks)] = (parent, child)
            tasks.append(
                Task(self.program, text, self.objective, timeout=self.timeout, deadline=deadline)
            )

    def search_end(self) -> float | None:
        """When search must end (``time.monotonic()``; None: no time budget)."""
        if self.budget.seconds is None:
            return None
        return self.start + self.budget.seconds - self.reserve

    def count(self, genome: Genome, result: EvalResult) -> None:
        """Remember one evaluation's result (made here or by the caller) and count it
        against the evaluation budget."""
        text = pipeline_text(genome)
        self.genomes[text] = genome
        self.results[text] = (result.size, result.instcount)
        self.times[text] = result.seconds
        self.scores[text] = self.score(result.size, result.instcount) if result.ok else FAILED
        self.evaluations += 1

    def time_left(self) -> float | None:
        """Seconds of search time left before the reserve (None: no time budget)."""
        end = self.search_end()
        return None if end is None else end - time.monotonic()

    def ranked(self) -> list[tuple[Score, str]]:
        """Every successful pass list, best first (ties: shorter, then text order)."""
        ok = [(s, t) for t, s in self.scores.items() if s != FAILED]
        return sorted(ok, key=lambda st: (st[0], len(self.genomes[st[1]]), st[1]))

    def best(self) -> tuple[Score, Genome] | None:
        ranked = self.ranked()
        return (ranked[0][0], self.genomes[ranked[0][1]]) if ranked else None
