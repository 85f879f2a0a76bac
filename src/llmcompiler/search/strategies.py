"""Search strategies. Each keeps evaluating until the run's budget is spent, and is
deterministic for a seed: candidates are generated in batches from a seeded RNG and
results are taken in batch order, whatever order the workers finish in."""

from __future__ import annotations

import random
from collections.abc import Sequence

from llmcompiler.passes import Pass
from llmcompiler.search.oz import OzTemplate
from llmcompiler.search.run import FAILED, SearchRun
from llmcompiler.search.space import LEVELS, OZ, Genome, crossover, mutate

BATCH = 8  # candidates per generation; fixed so results do not depend on --jobs
MAX_LEN = 40  # longest pass list search builds
POPULATION = 12  # parents kept by local search


def local_search(
    run: SearchRun,
    rng: random.Random,
    pool: Sequence[Pass],
    seeds: Sequence[Genome],
    oz: OzTemplate | None = None,
) -> None:
    """Evolution from the best lists found: mutation (insert, delete, replace, swap,
    move, and edits inside -Oz given its template) of tournament-selected parents, and
    one-point crossover."""
    # -O levels and the coreset are always tried whole (an evaluation budget still cuts
    # them): the time budget applies to what follows. Cutting them short on large
    # modules loses their best lists, which are often not the first ones.
    run.evaluate([(level,) for level in LEVELS] + list(seeds))
    while not run.exhausted():
        parents = [run.genomes[t] for _, t in run.ranked()[:POPULATION]] or [(OZ,)]
        batch = []
        for _ in range(BATCH):
            a = _tournament(rng, parents)
            if len(parents) > 1 and rng.random() < 0.25:
                child = crossover(rng, a, _tournament(rng, parents), MAX_LEN)
                if rng.random() < 0.5:
                    child = mutate(rng, child, pool, MAX_LEN, oz)
            else:
                child = mutate(rng, a, pool, MAX_LEN, oz)
                while rng.random() < 0.3:  # sometimes a bigger jump
                    child = mutate(rng, child, pool, MAX_LEN, oz)
            batch.append(child)
        run.evaluate(batch)


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
