"""Credit within a run (search/credit.py): passes that paid off are drawn more often,
and every pass keeps a chance."""

from __future__ import annotations

import random

from llmcompiler.pipeline import Pass
from llmcompiler.search.credit import PassCredit

POOL = [Pass(f"function(p{i})", "function") for i in range(20)]


def test_uniform_until_something_paid_off():
    credit = PassCredit(POOL)
    rng = random.Random(0)
    drawn = [credit.pick(rng) for _ in range(2000)]
    assert set(drawn) == set(POOL)
    assert max(drawn.count(p) for p in POOL) < 3 * 2000 / len(POOL)


def test_a_pass_that_paid_off_is_drawn_far_more_often():
    credit = PassCredit(POOL)
    winner, loser = POOL[3], POOL[4]
    for _ in range(10):
        credit.credit((POOL[0],), (POOL[0], winner), better=True)
        credit.credit((POOL[0],), (POOL[0], loser), better=False)
    assert (credit.wins[winner], credit.tries[winner]) == (10, 10)
    assert (credit.wins[loser], credit.tries[loser]) == (0, 10)
    rng = random.Random(1)
    drawn = [credit.pick(rng) for _ in range(4000)]
    assert drawn.count(winner) > 2 * drawn.count(loser)
    assert drawn.count(winner) > 1.2 * max(drawn.count(p) for p in POOL[5:])
    assert all(p in drawn for p in POOL)  # exploration keeps every pass in play


def test_only_the_added_passes_are_credited():
    credit = PassCredit(POOL)
    a, b = POOL[0], POOL[1]
    credit.credit((a, b), (a, b, b), better=True)  # one more b: b is credited, a is not
    credit.credit((a, b), (b,), better=True)  # a deletion credits nothing
    assert credit.tries == {b: 1} and credit.wins == {b: 1}
