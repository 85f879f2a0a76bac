"""Check every pass of the vocabulary on the project's programs, the way the
vocabulary file says it was checked: each pass alone and after default<Oz>, in two
separate worker pools, must run without crash, verify, and print the same IR in both.
Then random pipelines from the whole vocabulary, run twice, must agree.

Usage: python scripts/check_vocabulary.py [--random N]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from pathlib import Path

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.pipeline import Pipeline, load_vocabulary, random_pipeline
from llmcompiler.program import load_program

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "benchmarks" / "programs").glob("*.c")) + [
    ROOT / "tests" / "fixtures" / "programs" / n
    for n in (
        "loops.c",
        "switch.c",
        "recursion.c",
        "globals.c",
        "float.c",
        "strings.c",
        "cpp_sample.cpp",
    )
]


def fingerprints(tasks):
    """Run tasks in a fresh pool; return (status, instcount, size, sha of IR) per task."""
    out = [None] * len(tasks)
    with Evaluator(timeout=120) as ev:
        for i, r in ev.run(tasks):
            digest = hashlib.sha256(r.output).hexdigest()[:16] if r.output else ""
            out[i] = (r.status, r.instcount, r.size, digest, r.error[:200])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    vocab = load_vocabulary()
    programs = [load_program(p) for p in PROGRAMS]
    objective = Objective()
    tasks = []
    for p in vocab.passes:
        one = Pipeline((p,)).format()
        for prog in programs:
            tasks.append(Task(prog, one, objective, "ir"))
            tasks.append(Task(prog, "default<Oz>," + one, objective, "ir"))
    rng = random.Random(args.seed)
    for _ in range(args.random):
        pipeline = random_pipeline(rng, vocab, 1, 20).format()
        tasks.append(Task(rng.choice(programs), pipeline, objective, "ir"))
    print(f"{len(tasks)} evaluations, twice", file=sys.stderr)
    first, second = fingerprints(tasks), fingerprints(tasks)
    bad = 0
    for task, a, b in zip(tasks, first, second):
        if a[0] != "ok" or a != b:
            bad += 1
            print(f"{task.program.name}: {task.pipeline}\n  run 1: {a}\n  run 2: {b}")
    print(f"{len(tasks)} evaluations: {bad} failed or nondeterministic")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
