"""Which passes paid off on this program: credit that steers mutation within one run.

Each pass a mutation adds is remembered with the parent it was added to; when the
child scores better than that parent, the passes it has and the parent lacks earn a
win. Half of the passes that mutation draws then come from the vocabulary weighted
by the square of their win rate (Laplace-smoothed, so a pass never tried keeps its
chance), half uniformly, so that search never stops exploring.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from llmcompiler.pipeline import Pass

EXPLORE = 0.5  # share of draws that ignore the credit


class PassCredit:
    """Win and try counts per pass of one search run."""

    def __init__(self, pool: Sequence[Pass]) -> None:
        self.pool = list(pool)
        self.wins: Counter[Pass] = Counter()
        self.tries: Counter[Pass] = Counter()

    def pick(self, rng: random.Random) -> Pass:
        """Return a pass to add: uniform, or by the square of its win rate (Laplace-
        smoothed: a pass never tried counts as winning half the time)."""
        if not self.wins or rng.random() < EXPLORE:
            return rng.choice(self.pool)
        weights = [((self.wins[p] + 1) / (self.tries[p] + 2)) ** 2 for p in self.pool]
        return rng.choices(self.pool, weights)[0]

    def credit(self, parent: tuple[Pass, ...], child: tuple[Pass, ...], better: bool) -> None:
        """Count the passes ``child`` has beyond ``parent`` as tried, and as a win when
        the child scored ``better`` than the parent."""
        added = Counter(child) - Counter(parent)
        for gene in added:
            self.tries[gene] += 1
            if better:
                self.wins[gene] += 1
