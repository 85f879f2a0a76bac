"""Evaluator throughput, side by side in one run, on the same modules and pipelines.

Paths compared, for the binary-size and the instruction-count objective:
  pool-1 / pool-2   the Evaluator with 1 and 2 in-process workers (no cache)
  subproc-1/-2      opt-19 | llc-19 -filetype=obj + llvm-size-19 per evaluation
                    (instcount: opt-19 -S and counting its output), 1 or 2 at a time

Usage: python benchmarks/throughput.py [--pipelines N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llmcompiler.engine import Evaluator, Objective
from llmcompiler.llvm.toolchain import count_text_instructions
from llmcompiler.pipeline import load_vocabulary, random_pipeline
from llmcompiler.program import load_program

HERE = Path(__file__).parent
SIZES = ("small", "medium", "large")


def subprocess_eval(bitcode_path: str, pipeline: str, metric: str) -> int:
    """One evaluation the way a tool without an in-process binding does it."""
    if metric == "instcount":
        ir = subprocess.run(
            ["opt-19", f"-passes={pipeline}", bitcode_path, "-S", "-o", "-"],
            capture_output=True,
            check=True,
        ).stdout
        return count_text_instructions(ir.decode())
    with tempfile.NamedTemporaryFile(suffix=".o") as obj:
        optimized = subprocess.run(
            ["opt-19", f"-passes={pipeline}", bitcode_path, "-o", "-"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(
            ["llc-19", "-filetype=obj", "-", "-o", obj.name],
            input=optimized,
            capture_output=True,
            check=True,
        )
        out = subprocess.run(["llvm-size-19", obj.name], capture_output=True, check=True)
        text, data = out.stdout.decode().splitlines()[1].split()[:2]
        return int(text) + int(data)


def time_subprocess(bitcode_path, pipelines, metric, parallel) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda p: subprocess_eval(bitcode_path, p, metric), pipelines))
    return len(pipelines) / (time.perf_counter() - start)


def time_pool(program, pipelines, objective, jobs) -> float:
    with Evaluator(jobs=jobs, timeout=300) as ev:
        warmup = [",".join(["verify"] * (i + 1)) for i in range(jobs * 2)]
        ev.evaluate_many(program, warmup, objective)  # every worker parses the module once
        start = time.perf_counter()
        results = ev.evaluate_many(program, pipelines, objective)
        rate = len(pipelines) / (time.perf_counter() - start)
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"  ({failed} of {len(results)} pipelines failed)", file=sys.stderr)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=60, help="pipelines per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--modules", default=",".join(SIZES), help="comma-separated: small,medium,large"
    )
    args = parser.parse_args()
    vocab = load_vocabulary()
    print(
        f"cores: {len(os.sched_getaffinity(0))}, pipelines per module: {args.pipelines} "
        f"(random, 1-20 passes from the vocabulary, seed {args.seed})"
    )
    header = (
        f"{'module':8} {'instrs':>6} {'objective':9} {'pool-1':>7} {'pool-2':>7} "
        f"{'subp-1':>7} {'subp-2':>7} | {'p2/s1':>6} {'p2/s2':>6} {'p2/p1':>6}"
    )
    print(header)
    print("-" * len(header))
    for size in args.modules.split(","):
        program = load_program(HERE / "programs" / f"{size}.c")
        rng = random.Random(args.seed)
        pipelines = [random_pipeline(rng, vocab, 1, 20).format() for _ in range(args.pipelines)]
        with tempfile.NamedTemporaryFile(suffix=".bc") as bc:
            bc.write(program.bitcode)
            bc.flush()
            with Evaluator(jobs=1) as ev:
                instrs = ev.evaluate(program, "", Objective(metric="instcount")).instcount
            for metric in ("size", "instcount"):
                objective = Objective(metric=metric)
                p1 = time_pool(program, pipelines, objective, 1)
                p2 = time_pool(program, pipelines, objective, 2)
                s1 = time_subprocess(bc.name, pipelines, metric, 1)
                s2 = time_subprocess(bc.name, pipelines, metric, 2)
                print(
                    f"{size:8} {instrs:6d} {metric:9} {p1:7.1f} {p2:7.1f} {s1:7.1f} {s2:7.1f} "
                    f"| {p2 / s1:6.2f} {p2 / s2:6.2f} {p2 / p1:6.2f}",
                    flush=True,
                )
    print("rates are evaluations per second; p2/s2 compares both paths using both cores")


if __name__ == "__main__":
    main()
