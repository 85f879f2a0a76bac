"""Evaluations a budgeted search makes, for two or more versions of llmcompiler, side by side.

Each version is a source tree (``--run NAME=SRC_DIR``, e.g. a ``git worktree`` of an
earlier commit, or ``src`` for this one). For every module, the versions run
``llmc optimize`` one after the other with the same budget and no results cache, so a
slow moment of the machine hits both and neither reuses the other's results.
Per-module lines and a summary go to stdout: evaluations, evaluations per second and
the improvement over -Oz, for all modules and by size (-Oz's instruction count: small
under 1 000, medium under 10 000, large).

Usage:
  python benchmarks/search_rate.py --modules OUT/test_modules.txt --per-project 1 \
      --objective size --budget 10 --run before=/tmp/prev/src --run after=src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from module_list import per_project, read_modules  # noqa: E402


def optimize(src: str, module: str, objective: str, budget: float, extra: list[str]) -> dict:
    """``llmc optimize --json`` of ``module`` with the package found in ``src``."""
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    argv = [sys.executable, "-m", "llmcompiler", "optimize", module, "--json", "--no-cache"]
    argv += ["--objective", objective, "--budget", str(budget), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    data = json.loads(done.stdout)
    return data[0] if isinstance(data, list) else data


SIZES = ("small", "medium", "large")


def size_class(instructions: int) -> str:
    """small, medium or large by -Oz's IR instruction count."""
    return SIZES[(instructions >= 1_000) + (instructions >= 10_000)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", required=True, help="module list (path, project, family)")
    parser.add_argument("--per-project", type=int, default=1)
    parser.add_argument("--objective", default="size", choices=("size", "instcount"))
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=SRC_DIR")
    parser.add_argument("--no-per-function", action="store_true")
    args = parser.parse_args(argv)
    runs = dict(r.split("=", 1) for r in args.run)
    extra = ["--no-per-function"] if args.no_per_function else []
    modules = per_project(read_modules(args.modules), args.per_project)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    by_size: dict[tuple[str, str], list[float]] = {}
    gains: dict[str, list[float]] = {name: [] for name in runs}
    print(f"{'module':<28} {'-Oz instrs':>10}  " + "  ".join(f"{n:>22}" for n in runs))
    for entry in modules:
        cells = []
        oz = "?"
        for name, src in runs.items():
            data = optimize(src, entry.path, args.objective, args.budget, extra)
            if "error" in data:
                cells.append(f"{'error':>22}")
                print(f"  {name}: {data['error']}", file=sys.stderr)
                continue
            oz = data["oz"]["instcount"]
            rate = data["evaluations"] / data["seconds"]
            gain = data["improvement_pct"]
            rates[name].append(rate)
            by_size.setdefault((name, size_class(oz)), []).append(rate)
            gains[name].append(gain)
            cells.append(f"{data['evaluations']:>6} {rate:>7.1f}/s {gain:>6.2f}%")
        label = f"{entry.project}/{Path(entry.path).name[:8]}"
        print(f"{label:<28} {oz:>10}  " + "  ".join(cells), flush=True)
    print()
    for name in runs:
        if rates[name]:
            print(
                f"{name}: mean {statistics.mean(rates[name]):.1f} evaluations/s, "
                f"geomean {statistics.geometric_mean(rates[name]):.1f}/s, mean improvement "
                f"{statistics.mean(gains[name]):.2f}% over {len(rates[name])} modules"
            )
    for size in SIZES:
        cells = [
            f"{name} {statistics.geometric_mean(by_size[name, size]):.1f}/s"
            for name in runs
            if by_size.get((name, size))
        ]
        if cells:
            n = len(by_size.get((next(iter(runs)), size), []))
            print(f"{size} modules ({n}), geomean evaluations/s: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
