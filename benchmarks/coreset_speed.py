"""How long each list of a coreset takes to evaluate, relative to -Oz.

A coreset learned by set cover values lists by what they gain, not by what they cost;
under a time budget a slow list (two -Oz pipelines one after the other, say) leaves
fewer evaluations to search. This prints, for each list of a coreset file, its mean
evaluation time divided by -Oz's (the faster of two -Oz runs) on a seeded sample of
modules of a medium size (bitcode of 8-80 kB), on the fast in-process path.

Usage: python benchmarks/coreset_speed.py CORESET.json MODULES.txt [--modules 10]
       [--objective instcount] [--jobs 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.pipeline import OZ
from llmcompiler.program import load_program
from llmcompiler.search.coreset import load_coreset
from module_list import read_modules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("coreset")
    parser.add_argument("modules", help="a module list of benchmarks/real_code.py")
    parser.add_argument("--modules", dest="count", type=int, default=10)
    parser.add_argument("--objective", default="instcount", choices=("instcount", "size"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lists = load_coreset(args.coreset).pipelines
    paths = [entry.path for entry in read_modules(args.modules)]
    random.Random(args.seed).shuffle(paths)
    objective = Objective(metric=args.objective)
    ratios: list[list[float]] = [[] for _ in lists]
    used = 0
    with Evaluator(jobs=args.jobs) as ev:
        for path in paths:
            program = load_program(path)
            if not 8_000 <= len(program.bitcode) <= 80_000:
                continue
            tasks = [Task(program, text, objective, timeout=30) for text in (OZ, OZ, *lists)]
            results = dict(ev.run(tasks))
            oz = min(results[0].seconds, results[1].seconds)
            for j in range(len(lists)):
                ratios[j].append(results[j + 2].seconds / oz)
            used += 1
            if used == args.count:
                break
    means = [sum(r) / len(r) for r in ratios]
    print(f"{len(lists)} lists on {used} modules: seconds per evaluation over -Oz's")
    for i, (mean, text) in enumerate(zip(means, lists)):
        print(f"{i:3d} {mean:5.2f}  {len(text):6d} chars")
    print(f"mean {sum(means) / len(means):.2f}")
    print(json.dumps([round(m, 2) for m in means]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
