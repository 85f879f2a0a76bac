"""Learn the order in which choosing per function tries its function pipelines, from the
tuning side of the real-code benchmark only (benchmarks/real_code.py OUT/tune_modules.txt).

For each module: the best list of the shipped coreset for the objective (what search
most often starts from), then :func:`llmcompiler.search.per_function.per_function` with
every pipeline of the pool (``--seconds`` per module). Each pipeline is credited with what it
saved, as a share of the module's value, summed over modules. The pool is written best
first, so that a round cut short by the time budget has tried the pipelines that paid
off most. Pipelines never chosen stay, at the end, in the vocabulary's order.

Usage: python benchmarks/function_pool.py OUT/tune_modules.txt --objective instcount
       [--jobs 2] [--per-project N] [--write src/llmcompiler/data/function_pipelines.instcount.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.engine.cache import llvm_version_string
from llmcompiler.errors import LLMCError
from llmcompiler.program import load_program
from llmcompiler.search.coreset import coreset_for
from llmcompiler.search.per_function import SCHEMA_VERSION, per_function, vocabulary_pool


def best_list(ev: Evaluator, program, objective: Objective) -> str:
    """The coreset list (or -Oz) with the lowest value on ``program``."""
    lists = ["default<Oz>", *coreset_for(program.triple, objective.metric).pipelines]
    key = "instcount" if objective.metric == "instcount" else "size"
    values = {}
    for index, result in ev.run([Task(program, text, objective) for text in lists]):
        if result.ok:
            values[lists[index]] = getattr(result, key)
    return min(values, key=lambda text: (values[text], lists.index(text)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", type=Path, help="tune_modules.txt of benchmarks/real_code.py")
    parser.add_argument("--objective", choices=("instcount", "size"), default="instcount")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", type=Path, help="the pool file to write")
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="time limit of choosing per module (default 30)"
    )
    parser.add_argument(
        "--per-project",
        type=int,
        default=None,
        metavar="N",
        help="the first N modules of each project",
    )
    args = parser.parse_args(argv)
    rows = [line.split("\t") for line in args.modules.read_text().splitlines() if line]
    if any(len(row) < 3 for row in rows):
        parser.error(f"{args.modules}: expected path, project and kind per line")
    if args.per_project:
        taken: dict[str, int] = defaultdict(int)
        kept = []
        for row in rows:
            taken[row[1]] += 1
            if taken[row[1]] <= args.per_project:
                kept.append(row)
        rows = kept
    pool = vocabulary_pool()
    objective = Objective(metric=args.objective)
    share: dict[str, float] = defaultdict(float)
    functions: dict[str, int] = defaultdict(int)
    gains, done = [], 0
    with Evaluator(jobs=args.jobs) as ev:
        for i, (path, project, _) in enumerate(rows, 1):
            try:
                program = load_program(path)
                base = best_list(ev, program, objective)
                deadline = time.monotonic() + args.seconds
                plan = per_function(ev, program, base, objective, deadline, pool=pool)
            except LLMCError as err:
                print(f"skipped {path}: {err}", file=sys.stderr)
                continue
            if plan is None or not plan.before:
                continue
            done += 1
            gains.append(100 * (plan.before - plan.predicted) / plan.before)
            for text, value in plan.saved.items():
                share[text] += 100 * value / plan.before
                functions[text] += 1
            print(
                f"[{i}/{len(rows)}] {project}: {plan.before} -> {plan.predicted} "
                f"({gains[-1]:.2f}%), {plan.functions} functions, {plan.rounds} rounds",
                file=sys.stderr,
            )
    order = sorted(pool, key=lambda text: (-share[text], pool.index(text)))
    print(
        f"{done} modules; mean gain after the coreset's best list {sum(gains) / max(1, done):.2f}%"
    )
    for text in order[:25]:
        print(f"{share[text] / max(1, done):8.3f}%  {functions[text]:4d}  {text}")
    if args.write:
        data = {
            "schema_version": SCHEMA_VERSION,
            "llvm_version": llvm_version_string(),
            "objective": args.objective,
            "corpus": f"benchmarks/real_code.py tune side: {done} modules",
            "mean_gain_pct": round(sum(gains) / max(1, done), 4),
            "note": (
                f"learned {date.today()} with: python benchmarks/function_pool.py "
                f"OUT/tune_modules.txt --objective {args.objective}"
                + (f" --per-project {args.per_project}" if args.per_project else "")
                + f" --seconds {args.seconds:g}; base: each module's best list of the "
                "shipped coreset; every pipeline of the pool, at most 3 rounds"
            ),
            "pipelines": [
                {
                    "pipeline": text,
                    "saved_pct": round(share[text] / max(1, done), 4),
                    "modules": functions[text],
                }
                for text in order
            ],
        }
        args.write.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
