"""Fuzz the Evaluator with random pipelines; report crashes caught, tuner deaths and memory.

Most pipelines come from the search vocabulary; a share gets one pass from the
excluded list inserted (codegenprepare, loop-bound-split, ...) so that crashes
really happen and must be survived. A "tuner death" is any exception escaping
the Evaluator or a missing result: it must be 0.

Usage: python benchmarks/fuzz.py [--evaluations 5000] [--jobs 2] [--unsafe 0.05]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import traceback
from pathlib import Path

import psutil

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.pipeline import Pass, Pipeline, load_vocabulary, random_pipeline
from llmcompiler.program import load_program

HERE = Path(__file__).parent
PROGRAMS = [HERE / "programs" / "small.c", HERE / "programs" / "medium.c"] + sorted(
    (HERE.parent / "tests" / "fixtures" / "programs").glob("[a-s]*.c")
)
UNSAFE = [
    Pass("codegenprepare", "function"),
    Pass("loop-bound-split", "loop"),
    Pass("gvn-sink", "function"),
    Pass("structurizecfg", "function"),
    Pass("instcombine", "function"),
    Pass("unify-loop-exits", "function"),
]


def rss_mb(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--unsafe",
        type=float,
        default=0.05,
        help="share of pipelines with an excluded pass inserted",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocab = load_vocabulary()
    programs = [
        load_program(p)
        for p in PROGRAMS
        if p.name not in ("broken.c",) and "needs_define" not in p.name
    ]
    statuses: collections.Counter = collections.Counter()
    deaths = 0
    me = psutil.Process()
    samples = []
    start = time.perf_counter()
    with Evaluator(jobs=args.jobs, timeout=30) as ev:
        done = 0
        while done < args.evaluations:
            tasks = []
            for _ in range(min(args.batch, args.evaluations - done)):
                passes = list(random_pipeline(rng, vocab, 1, 30).passes)
                if rng.random() < args.unsafe:
                    passes.insert(rng.randrange(len(passes) + 1), rng.choice(UNSAFE))
                objective = Objective(metric=rng.choice(["size", "instcount"]))
                tasks.append(
                    Task(rng.choice(programs), Pipeline(tuple(passes)).format(), objective)
                )
            try:
                got = dict(ev.run(tasks))
                deaths += len(tasks) - len(got)
                statuses.update(r.status for r in got.values())
            except Exception:
                deaths += 1
                traceback.print_exc()
            done += len(tasks)
            workers = sum(rss_mb(c) for c in me.children(recursive=True))
            samples.append((done, rss_mb(me), workers))
            print(
                f"{done:6d} evaluations  parent {samples[-1][1]:6.1f} MB  "
                f"workers {workers:6.1f} MB  {dict(statuses)}",
                file=sys.stderr,
                flush=True,
            )
        stats = ev.stats
    elapsed = time.perf_counter() - start
    print(
        f"evaluations: {sum(statuses.values())} in {elapsed:.0f} s "
        f"({sum(statuses.values()) / elapsed:.1f}/s, {args.jobs} workers)"
    )
    print("statuses:", ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
    print(
        f"crashes caught: {stats.crashes}, timeouts: {stats.timeouts}, "
        f"worker restarts: {stats.restarts}"
    )
    print(f"tuner deaths: {deaths}")
    first, last = samples[0], samples[-1]
    mid = samples[len(samples) // 2]
    print(
        f"parent RSS MB   after {first[0]}: {first[1]:.1f}  after {mid[0]}: {mid[1]:.1f}  "
        f"after {last[0]}: {last[1]:.1f}"
    )
    print(
        f"workers RSS MB  after {first[0]}: {first[2]:.1f}  after {mid[0]}: {mid[2]:.1f}  "
        f"after {last[0]}: {last[2]:.1f}"
    )
    return 1 if deaths else 0


if __name__ == "__main__":
    sys.exit(main())
