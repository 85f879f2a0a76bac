"""Search strategies. Each keeps evaluating until the run's budget is spent, and is
deterministic for a seed under an evaluation budget: candidates are generated in
batches from a seeded RNG and results are taken in batch order, whatever order the
workers finish in. Under a time budget what is tried depends on timing, as it always
does: the seeds are streamed, and local search's evolution is steady-state (each
worker that finishes takes a child of the best lists known at that moment)."""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Sequence

from llmcompiler.pipeline import Pass, leaves, parse_tree
from llmcompiler.pipeline.oz import OzTemplate, OzVariant
from llmcompiler.search.credit import PassCredit
from llmcompiler.search.run import FAILED, Score, SearchRun
from llmcompiler.search.space import (
    LEVELS,
    OZ_GENE,
    Genome,
    crossover,
    is_oz,
    mutate,
    pipeline_text,
)

BATCH = 8  # candidates per generation; fixed so results do not depend on --jobs
MAX_LEN = 40  # longest pass list search builds
POPULATION = 12  # parents kept by local search
CHEAP = 30  # lists of at most this many passes go first when time is short
OZ_PASSES = 105  # passes in default<Oz> (and about as many in the other levels)
SWEEP_SHARE = 0.4  # most of the remaining time budget the -Oz edit sweep may take


def local_search(
    run: SearchRun,
    rng: random.Random,
    pool: Sequence[Pass],
    seeds: Sequence[Genome],
    oz: OzTemplate | None = None,
) -> None:
    """Evolution from the best lists found: mutation (insert, delete, replace, swap,
    move, and edits inside -Oz given its template) of tournament-selected parents, and
    one-point crossover. The passes mutation adds are drawn half by how often they
    paid off earlier in this run (:mod:`.credit`)."""
    # The seeds' first lists (the model's picks, else the coreset's best on the training
    # corpus), LLVM's other levels, then the rest of the seeds, a batch at a time until
    # the budget is spent.
    first = list(seeds[:BATCH]) + [(level,) for level in LEVELS] + list(seeds[BATCH:])
    # One round of the workers always finishes, past the budget's end if need be: on a
    # module where one evaluation takes seconds, the best-ranked lists are all there is
    # time for, and a list cut off by the budget is time spent for nothing.
    jobs = run.jobs
    head, rest = first[:jobs], first[jobs:]
    if run.expensive(len(first)):
        # Not all of them fit the budget: after the seeds' first batch (the model's picks
        # and the coreset's best, in their order), cheap lists (a few passes, where lists
        # built on -Oz run ~100) first, so that many more of them are tried.
        rest = rest[: BATCH - jobs] + sorted(rest[BATCH - jobs :], key=lambda g: _cost(g) > CHEAP)
    # Streamed: a worker that finishes its list takes the next, so a slow first list
    # (seconds on a large module) does not hold the others back.
    run.stream(head + rest, patient=len(head))
    if oz is not None:
        sweep(run, rng, oz)
    credit = PassCredit(pool)

    def learn(parent: Genome, child: Genome, score: Score) -> None:
        credit.credit(parent, child, score < run.scores[pipeline_text(parent)])

    if run.budget.evaluations is None:
        # Under a time budget alone, steady-state: a worker that finishes takes a child
        # of the best lists known at that moment.
        best = _Best(run)

        def propose() -> tuple[Genome, Genome]:
            return _child(rng, best.genomes(), pool, oz, credit)

        def learn_and_keep(parent: Genome, child: Genome, score: Score) -> None:
            learn(parent, child, score)
            best.add(pipeline_text(child))

        run.steady(propose, learn_and_keep)
        return
    # Under an evaluation budget, generations of BATCH children, so that the result
    # does not depend on how many workers there are or which finishes first.
    while not run.exhausted():
        parents = [run.genomes[t] for _, t in run.ranked()[:POPULATION]] or [(OZ_GENE,)]
        pairs = [_child(rng, parents, pool, oz, credit) for _ in range(BATCH)]
        for (parent, child), score in zip(pairs, run.evaluate([c for _, c in pairs])):
            learn(parent, child, score)


def _child(
    rng: random.Random,
    parents: Sequence[Genome],
    pool: Sequence[Pass],
    oz: OzTemplate | None,
    credit: PassCredit,
) -> tuple[Genome, Genome]:
    """A tournament-selected parent and its child: a mutation, sometimes several, or a
    crossover with a second parent, sometimes mutated."""
    a = _tournament(rng, parents)
    if len(parents) > 1 and rng.random() < 0.25:
        child = crossover(rng, a, _tournament(rng, parents), MAX_LEN, oz)
        if rng.random() < 0.5:
            child = mutate(rng, child, pool, MAX_LEN, oz, credit.pick)
    else:
        child = mutate(rng, a, pool, MAX_LEN, oz, credit.pick)
        while rng.random() < 0.3:  # sometimes a bigger jump
            child = mutate(rng, child, pool, MAX_LEN, oz, credit.pick)
    return a, child


class _Best:
    """A run's POPULATION best lists, kept in :meth:`SearchRun.ranked` order as results
    arrive (sorting every score for each child costs more than a small program's
    evaluation)."""

    def __init__(self, run: SearchRun) -> None:
        self.run = run
        self.top = [self._entry(t) for _, t in run.ranked()[:POPULATION]]

    def _entry(self, text: str) -> tuple[Score, int, str]:
        return (self.run.scores[text], len(self.run.genomes[text]), text)

    def add(self, text: str) -> None:
        entry = self._entry(text)
        if entry[0] == FAILED or entry in self.top:
            return
        if len(self.top) < POPULATION or entry < self.top[-1]:
            bisect.insort(self.top, entry)
            del self.top[POPULATION:]

    def genomes(self) -> list[Genome]:
        return [self.run.genomes[t] for _, _, t in self.top] or [(OZ_GENE,)]


def sweep(run: SearchRun, rng: random.Random, oz: OzTemplate, share: float = SWEEP_SHARE) -> None:
    """Try every single edit of the -Oz gene in the best list so far (in a seeded random
    order, within ``share`` of the time budget), then the edits that helped, joined.

    Removing or retuning one -Oz pass at a time is the neighbourhood where most wins over
    -Oz lie; edits that each help alone usually help together.
    """
    best = run.best()
    if best is None:
        return
    base_score, base = best
    at = next((i for i, p in enumerate(base) if is_oz(p)), None)
    if at is None:
        base, at = (OZ_GENE,), 0
        (base_score,) = run.evaluate([base])
    gene = base[at]
    start = dict(gene.edits) if isinstance(gene, OzVariant) else {}
    edits = [(i, new) for i in oz.editable for new in oz.alternatives(i) if start.get(i, "") != new]
    rng.shuffle(edits)
    deadline = None
    if run.budget.seconds is not None:
        deadline = time.monotonic() + share * max(0.0, run.budget.seconds - run.elapsed())
    if run.budget.evaluations is not None:
        edits = edits[: int(share * max(0, run.budget.evaluations - run.evaluations))]
    trials = [_with_oz(base, at, oz.variant(tuple({**start, i: new}.items()))) for i, new in edits]
    if not run.exhausted():
        run.stream(trials, until=deadline)  # streamed: no worker waits for a batch's last
    helped: list[tuple[Score, tuple[int, str | None]]] = []
    for edit, trial in zip(edits, trials):
        score = run.scores.get(pipeline_text(trial), FAILED)
        if score != FAILED and score[0] < base_score[0]:
            helped.append((score, edit))
    helped.sort(key=lambda se: (se[0], se[1][0], se[1][1] or ""))
    joined = []
    for n in sorted({2, 4, 8, len(helped)}):
        if 0 < n <= len(helped):
            top = dict(start)
            for _, (i, new) in helped[:n]:
                top[i] = new
            joined.append(_with_oz(base, at, oz.variant(tuple(top.items()))))
    run.evaluate(joined)


def _cost(genome: Genome) -> int:
    """Rough cost of a list in passes run (an -O level or edited -Oz counts ~100)."""
    total = 0
    for gene in genome:
        if is_oz(gene) or gene.name.startswith("default<"):
            total += OZ_PASSES
        else:
            total += len(leaves(parse_tree(gene.name).nodes))
    return total


def _with_oz(genome: Genome, at: int, gene: Pass) -> Genome:
    return genome[:at] + (gene,) + genome[at + 1 :]


def _tournament(rng: random.Random, parents: Sequence[Genome]) -> Genome:
    """Pick the better of two random parents (parents are sorted best first)."""
    i, j = rng.randrange(len(parents)), rng.randrange(len(parents))
    return parents[min(i, j)]


def greedy(
    run: SearchRun,
    rng: random.Random,
    pool: Sequence[Pass],
    seeds: Sequence[Genome] = (),
    oz: OzTemplate | None = None,
) -> None:
    """Greedy construction: from the empty list, append the pass that helps most;
    stop when no pass helps (or the budget is spent). ``rng`` orders ties."""
    current: Genome = ()
    (best,) = run.evaluate([current])
    while not run.exhausted() and len(current) < MAX_LEN:
        options = list(pool)
        rng.shuffle(options)
        candidates = [current + (p,) for p in options]
        scores = run.evaluate(candidates)
        top = min(range(len(candidates)), key=lambda i: scores[i])
        if scores[top] == FAILED or scores[top] >= best:
            return
        current, best = candidates[top], scores[top]


def random_search(
    run: SearchRun,
    rng: random.Random,
    pool: Sequence[Pass],
    seeds: Sequence[Genome] = (),
    oz: OzTemplate | None = None,
) -> None:
    """Uniformly random pass lists of 1 to MAX_LEN passes."""
    while not run.exhausted():
        run.evaluate(
            [tuple(rng.choice(pool) for _ in range(rng.randint(1, MAX_LEN))) for _ in range(BATCH)]
        )


METHODS = {"local": local_search, "greedy": greedy, "random": random_search}
