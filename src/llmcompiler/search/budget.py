"""How much search a module can afford, from its size.

One evaluation runs a pipeline over the whole module and, for binary size, generates
its code, so its cost grows with the module: ``benchmarks/module_size.py`` measured the
-Oz pipeline plus the in-process emitter at 0.03 s for a 361-instruction file, 0.45 s
for Brotli's encoder (12 506 IR instructions) and 19 s for SQLite's amalgamation
(280 567). A per-file budget that is fixed in seconds therefore buys hundreds of
evaluations on a small file and not even one on a huge one. :func:`plan` turns a
budget into a decision a build can rely on: search with the budget, search with a
budget raised to afford a few evaluations, or no search at all (compile with -Oz and
leave the module to ``llmc autotune``, whose budget is larger).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Seconds per IR instruction of one size evaluation (-Oz pipeline + in-process object
#: emitter), from benchmarks/module_size.py on SQLite's amalgamation (6.9e-5) and
#: Brotli's encoder (3.6e-5); the instruction-count objective costs about 60 % of it.
SECONDS_PER_INSTRUCTION = 7e-5
#: Fixed cost of one evaluation (clone, verify, messages), seconds.
OVERHEAD_SECONDS = 0.01
#: The fewest evaluations worth a search: -Oz, two model proposals and a coreset list.
MIN_EVALUATIONS = 4


@dataclass(frozen=True)
class Plan:
    """What to do with one module: ``search`` with ``seconds`` of budget, or not
    (``seconds`` 0), and why."""

    search: bool
    seconds: float
    estimate: float  # estimated seconds of one evaluation
    reason: str


def estimated_seconds(instructions: int, objective: str = "size") -> float:
    """Estimated seconds of one evaluation of a module of ``instructions`` IR
    instructions (the -Oz pipeline, and code generation for ``"size"``)."""
    per = SECONDS_PER_INSTRUCTION * (1.0 if objective == "size" else 0.6)
    return OVERHEAD_SECONDS + per * instructions


def plan(instructions: int, budget: float, cap: float, objective: str = "size") -> Plan:
    """The search a module of ``instructions`` IR instructions gets from a per-file
    ``budget`` (seconds): at least :data:`MIN_EVALUATIONS` evaluations, so a budget too
    small for them is raised, but never above ``cap`` seconds; a module whose few
    evaluations would cost more than ``cap`` is not searched."""
    estimate = estimated_seconds(instructions, objective)
    needed = MIN_EVALUATIONS * estimate
    if needed <= budget:
        return Plan(True, budget, estimate, f"budget {budget:g} s")
    if needed <= cap:
        return Plan(True, needed, estimate, f"budget raised to {needed:.1f} s for its size")
    return Plan(
        False,
        0.0,
        estimate,
        f"too large to search at build time (about {estimate:.1f} s per evaluation, "
        f"{instructions} IR instructions): compiled with -Oz; `llmc autotune` can tune it",
    )
