"""The ``llmc-narrow`` step before -Oz: how often it shrinks or grows code, and how
often ``llmc optimize`` keeps a list that holds it.

For each C/.ll file (clang-19 size-tuning front end, plus flags for old C):

- binary size (llc-19 object, text + data) of ``default<Oz>``,
  ``function(mem2reg),llmc-narrow,default<Oz>`` and ``llmc-narrow,default<Oz>``,
  all through the Evaluator (the step runs in its worker);
- on a sample (every k-th file), ``optimize`` as ``llmc optimize --budget B`` runs
  it (local search, the shipped coreset, seed 0), once as shipped and once with
  the two narrowing lists above added to the front of the coreset: how often the
  returned list holds ``llmc-narrow``.

One evaluation worker (the machine is shared). The GCC torture tests:

    mkdir -p /tmp/tort && tar -xJf /usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz -C /tmp/tort \\
        --wildcards 'gcc-12.2.0/gcc/testsuite/gcc.c-torture/execute/*.c'
    python benchmarks/narrow_step.py /tmp/tort/gcc-12.2.0/gcc/testsuite/gcc.c-torture/execute \\
        --limit 150 --sample 20 --budget 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from llmcompiler.engine import Evaluator, Objective, Task
from llmcompiler.errors import LLMCError
from llmcompiler.llvm.toolchain import compile_source
from llmcompiler.pipeline import steps_in
from llmcompiler.program import load_program, program_from_ir
from llmcompiler.search.coreset import load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize

OZ = "default<Oz>"
VARIANTS = {
    "mem2reg,narrow,Oz": "function(mem2reg),llmc-narrow,default<Oz>",
    "narrow,Oz": "llmc-narrow,default<Oz>",
}
EXACT = Objective(size_path="llc")
#: The torture tests are old C: implicit int, implicit declarations.
TORTURE_FLAGS = "-std=gnu89 -w -Wno-error=int-conversion -Wno-error=incompatible-pointer-types"


def load(path: Path, cflags: str):
    """Load a .c file with extra front-end flags (or any file load_program takes)."""
    if path.suffix != ".c" or not cflags:
        return load_program(path)
    bitcode = compile_source(path, extra_flags=tuple(cflags.split()), timeout=60)
    return program_from_ir(bitcode, path.name, source=str(path))


def sizes(ev: Evaluator, programs: list) -> list[dict]:
    """Per program: the size of -Oz and of each variant (None where evaluation failed)."""
    pipelines = [OZ, *VARIANTS.values()]
    tasks = [Task(p, pl, EXACT) for p in programs for pl in pipelines]
    results = [None] * len(tasks)
    for index, result in ev.run(tasks):
        results[index] = result
    rows = []
    for i, program in enumerate(programs):
        mine = results[i * len(pipelines) : (i + 1) * len(pipelines)]
        row = {"file": program.name}
        for name, r in zip(["Oz", *VARIANTS], mine):
            row[name] = r.size if r.ok else None
            if not r.ok:
                row[f"{name}_error"] = f"{r.status}: {(r.error or '').splitlines()[0][:160]}"
        rows.append(row)
    return rows


def summarize_sizes(rows: list[dict]) -> list[str]:
    lines = []
    for name, pipeline in VARIANTS.items():
        both = [r for r in rows if r["Oz"] is not None and r[name] is not None]
        failed = sum(1 for r in rows if r["Oz"] is not None and r[name] is None)
        oz = sum(r["Oz"] for r in both)
        ours = sum(r[name] for r in both)
        smaller = sum(r[name] < r["Oz"] for r in both)
        larger = sum(r[name] > r["Oz"] for r in both)
        ratio = statistics.geometric_mean([r["Oz"] / r[name] for r in both]) if both else 0
        lines.append(
            f"{pipeline}: {len(both)} files, smaller {smaller}, larger {larger}, "
            f"same {len(both) - smaller - larger}, failed {failed}; total {oz} -> {ours} bytes "
            f"({(oz - ours) / oz * 100:+.3f}% saved), geomean Oz/size {ratio:.5f}"
        )
        best = sum(min(r["Oz"], r[name]) for r in both)
        lines.append(
            f"  taking it only where it is smaller: {oz} -> {best} bytes "
            f"({(oz - best) / oz * 100:+.3f}% saved)"
        )
    return lines


def tune(ev: Evaluator, programs: list, budget: float, coreset: tuple[str, ...]) -> list[dict]:
    """``optimize`` each program as the CLI does; the returned list and its gain."""
    config = TuneConfig(budget=Budget(budget, None), coreset=coreset, seed=0)
    rows = []
    for program in programs:
        try:
            r = optimize(ev, program, config)
        except LLMCError as err:
            rows.append({"file": program.name, "error": str(err).splitlines()[0][:160]})
            continue
        rows.append(
            {
                "file": program.name,
                "pipeline": r.pipeline,
                "narrow": bool(steps_in(r.pipeline)),
                "improvement_pct": round(r.improvement_pct, 3),
            }
        )
    return rows


def summarize_tuning(label: str, rows: list[dict]) -> list[str]:
    done = [r for r in rows if "pipeline" in r]
    with_step = [r for r in done if r["narrow"]]
    mean = statistics.mean(r["improvement_pct"] for r in done) if done else 0.0
    lines = [
        f"optimize ({label}): {len(done)} files, {len(with_step)} returned a list with "
        f"llmc-narrow; mean improvement over -Oz {mean:.3f}%"
    ]
    lines += [f"  {r['file']}: {r['pipeline']} ({r['improvement_pct']:+.3f}%)" for r in with_step]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", help="directories or .c/.ll files")
    ap.add_argument("--limit", type=int, default=150, help="files at most (sorted by name)")
    ap.add_argument("--sample", type=int, default=20, help="files tuned with optimize (0: none)")
    ap.add_argument("--budget", type=float, default=2.0, help="optimize seconds per file")
    ap.add_argument("--json", metavar="OUT", help="write per-file rows here")
    ap.add_argument("--cflags", default=TORTURE_FLAGS, help="extra clang flags for .c files")
    args = ap.parse_args(argv)
    files: list[Path] = []
    for p in map(Path, args.paths):
        files += sorted(p.glob("*.c")) + sorted(p.glob("*.ll")) if p.is_dir() else [p]
    files = files[: args.limit]
    start = time.time()
    programs, failed = [], 0
    for path in files:
        try:
            programs.append(load(path, args.cflags))
        except LLMCError:
            failed += 1
    lines = [f"files: {len(programs)} loaded, {failed} did not compile"]
    out: dict = {}
    with Evaluator(jobs=1, timeout=60) as ev:
        out["sizes"] = sizes(ev, programs)
        lines += summarize_sizes(out["sizes"])
        lines.append(f"(sizes: {time.time() - start:.0f} s)")
        if args.sample:
            step = max(1, len(programs) // args.sample)
            sample = programs[::step][: args.sample]
            shipped = load_coreset().pipelines
            out["tune_shipped"] = tune(ev, sample, args.budget, shipped)
            lines += summarize_tuning("shipped coreset", out["tune_shipped"])
            with_narrow = (*VARIANTS.values(), *shipped)
            out["tune_narrow"] = tune(ev, sample, args.budget, with_narrow)
            lines += summarize_tuning("coreset + the two narrowing lists", out["tune_narrow"])
    for r in out["sizes"]:
        for key in [k for k in r if k.endswith("_error")]:
            print(f"{r['file']}: {key[:-6]} failed: {r[key]}", file=sys.stderr)
    lines.append(f"wall time {time.time() - start:.0f} s")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
