"""The search space: pass lists over the vocabulary plus ``default<Oz>`` as one gene,
and the mutation and crossover operators the strategies share."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence

from llmcompiler.pipeline import OZ, Pass, Pipeline, Vocabulary
from llmcompiler.pipeline.oz import OzTemplate, OzVariant

#: The -Oz pipeline as a single module-level gene: lists such as
#: [default<Oz>, mergefunc] are often the best, and it gives search a strong start.
OZ_GENE = Pass(OZ, "module")

#: llmcompiler's own integer-narrowing step (engine/steps.py), a module-level gene:
#: it runs between the LLVM passes around it and opt-19 cannot run it.
NARROW = Pass("llmc-narrow", "module")

#: LLVM's other standard pipelines, tried once at the start of local search: on some
#: programs -Os or -O1 beats -Oz, and for instruction count -O2 often does.
LEVELS = tuple(Pass(f"default<{level}>", "module") for level in ("Os", "O1", "O2", "O3"))

Genome = tuple[Pass, ...]


def genes(vocabulary: Vocabulary) -> tuple[Pass, ...]:
    """Return the passes search may use: default<Oz>, llmc-narrow and the vocabulary."""
    return (OZ_GENE, NARROW, *vocabulary.passes)


def pipeline_text(genome: Sequence[Pass]) -> str:
    """Return the opt -passes= text of a pass list."""
    return _text(tuple(genome))


@functools.lru_cache(maxsize=8192)
def _text(genome: Genome) -> str:
    # Search asks for a list's text several times (to key its score, to send it, to
    # rank it); formatting an edited -Oz parses its ~100 passes, and on a small
    # program that costs more than the evaluation.
    return Pipeline(genome).format()


def is_oz(gene: Pass) -> bool:
    """True for default<Oz> and edited -Oz genes."""
    return gene == OZ_GENE or isinstance(gene, OzVariant)


def mutate(
    rng: random.Random,
    genome: Genome,
    pool: Sequence[Pass],
    max_len: int,
    oz: OzTemplate | None = None,
    pick: Callable[[random.Random], Pass] | None = None,
) -> Genome:
    """Return a copy of ``genome`` with one random edit: insert, delete, replace, swap or
    move a pass, or (given the -Oz template) edit the -Oz gene inside it: half of the
    edits of a list holding -Oz go there. ``pick`` draws the pass to insert or put in
    (default: uniform over ``pool``)."""
    draw = pick or (lambda r: r.choice(pool))
    g = list(genome)
    at = [i for i, p in enumerate(g) if is_oz(p)]
    if oz is not None and at and rng.random() < 0.5:
        i = rng.choice(at)
        g[i] = oz.edit(rng, g[i] if isinstance(g[i], OzVariant) else None)
        return tuple(g)
    ops = ["insert", "replace"] if len(g) < 2 else ["insert", "delete", "replace", "swap", "move"]
    if len(g) >= max_len:
        ops = [op for op in ops if op != "insert"]
    if not g:
        ops = ["insert"]
    op = rng.choice(ops)
    if op == "insert":
        g.insert(rng.randint(0, len(g)), draw(rng))
    elif op == "delete":
        del g[rng.randrange(len(g))]
    elif op == "replace":
        g[rng.randrange(len(g))] = draw(rng)
    elif op == "swap":
        i = rng.randrange(len(g) - 1)
        g[i], g[i + 1] = g[i + 1], g[i]
    else:
        p = g.pop(rng.randrange(len(g)))
        g.insert(rng.randint(0, len(g)), p)
    return tuple(g)


def crossover(
    rng: random.Random, a: Genome, b: Genome, max_len: int, oz: OzTemplate | None = None
) -> Genome:
    """Return a crossover of two parents. When both hold an edited -Oz (given its
    template), half the time ``a`` with its -Oz edits joined with ``b``'s (edits that
    each helped alone often help together); otherwise a one-point crossover: a prefix
    of ``a`` followed by a suffix of ``b``."""
    if oz is not None and rng.random() < 0.5:
        edits_a = [p for p in a if isinstance(p, OzVariant)]
        edits_b = [p for p in b if isinstance(p, OzVariant)]
        if edits_a and edits_b:
            mine, theirs = rng.choice(edits_a), rng.choice(edits_b)
            joined = oz.variant(tuple({**dict(theirs.edits), **dict(mine.edits)}.items()))
            if joined != mine:
                return tuple(joined if p is mine else p for p in a)
    child = a[: rng.randint(0, len(a))] + b[rng.randint(0, len(b)) :]
    return child[:max_len] if child else a
