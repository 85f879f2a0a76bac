"""A pass list per function: after the module-wide list, each function gets the function
pipelines that make it smaller, written as ``llmc-functions<f;g>(function(...))`` steps.

Function passes change only the function they run on, so one evaluation of the
module-wide list followed by a function pipeline ``S`` gives, for every function at
once, its value with ``S``. Each round measures every pipeline of the pool that way
(each on a copy of the module-wide result, run once per batch: ``Task.then``), gives
each function the pipeline that lowered it most, and appends one step per chosen
pipeline; the next round starts from there. Functions whose names pipeline text cannot
hold (:func:`~llmcompiler.pipeline.functions.writable`) keep the module-wide result.

The values per function are instruction counts, or for binary size the bytes of code
in the symbol table (ELF only; constants and unwind tables are not per function), so
what is returned is a prediction: the caller measures it whole, and keeps it only where
it beats the module-wide list.
"""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.pipeline import load_vocabulary
from llmcompiler.pipeline.functions import functions_step, writable
from llmcompiler.program import Program

SCHEMA_VERSION = 1  # of data/function_pipelines.<metric>.json
#: Pipelines measured per batch (one task: the module-wide list once, then each of them).
BATCH = 12
#: Rounds of choosing (each starts from the functions as the last round left them).
ROUNDS = 3
#: Function pipelines beyond the single passes of the vocabulary: the cleanup pairs that
#: -Oz's function simplification ends with, tried as one step.
PAIRS = (
    "function(sroa<modify-cfg>,instcombine<no-verify-fixpoint>,simplifycfg)",
    "function(gvn,instcombine<no-verify-fixpoint>,simplifycfg)",
    "function(early-cse<memssa>,instcombine<no-verify-fixpoint>)",
    "function(simplifycfg<hoist-common-insts;sink-common-insts>,instcombine<no-verify-fixpoint>)",
    "function(jump-threading,simplifycfg,instcombine<no-verify-fixpoint>)",
)


def vocabulary_pool() -> tuple[str, ...]:
    """Every function and loop pass of the vocabulary alone (loop passes in
    ``loop-mssa(...)`` or ``loop(...)``, as they need), then :data:`PAIRS`."""
    vocabulary = load_vocabulary()
    out = []
    for p in vocabulary.passes:
        if p.level == "function":
            out.append(f"function({p.name})")
        elif p.level == "loop-mssa":
            out.append(f"function(loop-mssa({p.name}))")
        elif p.level == "loop":
            out.append(f"function(loop({p.name}))")
    return (*out, *PAIRS)


@functools.cache
def function_pipelines(metric: str = "instcount") -> tuple[str, ...]:
    """The pool, in the order learned for ``metric`` on the tuning side of the real-code
    benchmark (``data/function_pipelines.<metric>.json``, benchmarks/function_pool.py;
    the instruction-count order where none was learned for ``metric``):
    the pipelines that saved most first, then any of :func:`vocabulary_pool` the file
    does not hold. Pipelines of the file that the vocabulary no longer has are dropped."""
    pool = vocabulary_pool()
    data = resources.files("llmcompiler.data")
    shipped = data.joinpath(f"function_pipelines.{metric}.json")
    if not shipped.is_file():  # no order learned for this objective: instcount's
        shipped = data.joinpath("function_pipelines.instcount.json")
    if not shipped.is_file():
        return pool
    learned = [entry["pipeline"] for entry in json.loads(shipped.read_text())["pipelines"]]
    known = set(pool)
    ordered = [text for text in learned if text in known]
    return (*ordered, *(text for text in pool if text not in set(ordered)))


@dataclass(frozen=True)
class FunctionPlan:
    """The result of :func:`per_function`: ``pipeline`` (the module-wide list, then the
    steps), the predicted total, the total before, how many functions changed, rounds
    that changed any, evaluations (the module-wide list and each pipeline measured), and
    what each chosen pipeline saved (summed over the functions that took it)."""

    pipeline: str
    predicted: int
    before: int
    functions: int
    rounds: int
    evaluations: int
    saved: dict[str, int]


def per_function(
    evaluator: Evaluator,
    program: Program,
    base: str,
    objective: Objective,
    deadline: float | None = None,
    pool: Sequence[str] | None = None,
    rounds: int = ROUNDS,
) -> FunctionPlan | None:
    """Choose function pipelines per function after ``base`` (see the module docstring).

    Stops at ``deadline`` (a ``time.monotonic()`` value; a round cut short still counts
    what it measured). Returns the plan (its pipeline is ``base`` itself when no function
    gets smaller), or None when ``base`` fails or gives no values per function (a format
    other than ELF for size).
    """
    pool = tuple(pool if pool is not None else function_pipelines(objective.metric))
    current = _values(evaluator, program, base, objective)
    if not current:
        return None
    before = sum(current.values())
    text, changed, done, measured = base, set(), 0, 1
    saved: dict[str, int] = defaultdict(int)
    for _ in range(rounds):
        if deadline is not None and time.monotonic() >= deadline:
            break
        best, count = _round(evaluator, program, text, objective, pool, current, deadline)
        measured += count
        groups: dict[int, list[str]] = defaultdict(list)
        for name, (value, index) in best.items():
            if index is not None:
                groups[index].append(name)
                saved[pool[index]] += current[name] - value
                current[name] = value
        if not groups:
            break
        done += 1
        changed.update(n for names in groups.values() for n in names)
        steps = [functions_step(names, pool[i]) for i, names in sorted(groups.items())]
        text = ",".join([text, *steps])
    total = sum(current.values())
    return FunctionPlan(text, total, before, len(changed), done, measured, dict(saved))


def _values(
    evaluator: Evaluator, program: Program, text: str, objective: Objective
) -> dict[str, int] | None:
    result = evaluator.evaluate(program, text, objective, output="functions")
    return json.loads(result.output) if result.ok else None


def _round(
    evaluator: Evaluator,
    program: Program,
    text: str,
    objective: Objective,
    pool: tuple[str, ...],
    current: dict[str, int],
    deadline: float | None,
) -> tuple[dict[str, tuple[int, int | None]], int]:
    """({function: (best value, index in pool or None)}, pipelines measured) over the
    pool after ``text``. Batches go out one per worker at a time, and none is started
    after ``deadline``: a batch is never cut off (that would cost fresh workers)."""
    best: dict[str, tuple[int, int | None]] = {n: (v, None) for n, v in current.items()}
    starts = list(range(0, len(pool), BATCH))
    measured = 0
    while starts and (deadline is None or time.monotonic() < deadline):
        wave, starts = starts[: evaluator.jobs], starts[evaluator.jobs :]
        tasks = [
            Task(program, text, objective, output="functions", then=pool[s : s + BATCH])
            for s in wave
        ]
        for index, result in evaluator.run(tasks):
            if not result.ok:
                continue
            measured += len(tasks[index].then)
            for offset, values in enumerate(json.loads(result.output)):
                if values is None or set(values) != set(current):
                    continue  # failed, or added or removed a function: not one function's
                at = wave[index] + offset
                for name, value in values.items():
                    old, was = best[name]
                    # lowest value, then first in the pool: the same plan in any order
                    lower = was is None or (value, at) < (old, was)
                    if value < current[name] and writable(name) and lower:
                        best[name] = (value, at)
    return best, measured
