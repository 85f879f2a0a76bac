"""Improvement over -Oz against the time budget, per system and per program family.

Reads the per-program JSONL that ``benchmarks/tuning.py --out`` writes, one file per
system, and prints one table per objective (mean, geometric mean, programs better and
worse than -Oz, mean evaluations and seconds per program), the means per family, and
draws the curve to a PNG.

Usage:
  python benchmarks/budget_curve.py --modules test_modules.txt \\
      --run llmc=llmc.jsonl --run random=random.jsonl --run previous=prev.jsonl \\
      [--plot docs/budget_curve.png]

Rows labelled ``-Oz`` and ``coreset`` (tuning.py's baselines) are drawn as flat lines;
rows labelled ``<method> <N>s`` give the point of their system at N seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

_BUDGET = re.compile(r"(\d+(?:\.\d+)?)s")


def load(runs: list[str]) -> list[dict]:
    """Rows of every ``NAME=FILE``, each with ``system`` and ``budget`` (None: flat)."""
    rows = []
    for spec in runs:
        name, _, path = spec.partition("=")
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            found = _BUDGET.search(row["run"])
            system = name if found else row["run"]
            rows.append({**row, "system": system, "budget": float(found[1]) if found else None})
    return rows


def summary(values: list[dict]) -> tuple[float, float, int, int, int, float, float]:
    """(mean %, geometric-mean %, programs better than -Oz, worse, programs, mean
    evaluations, mean seconds per program)."""
    pcts = [r["improvement_pct"] for r in values]
    ratios = [r["oz"] / r["best"] for r in values if r["best"]]
    geo = (math.exp(sum(map(math.log, ratios)) / len(ratios)) - 1) * 100 if ratios else 0.0
    n = len(pcts)
    evaluations = sum(r["evaluations"] for r in values) / n
    seconds = sum(r["seconds"] for r in values) / n
    better, worse = sum(p > 0 for p in pcts), sum(p < 0 for p in pcts)
    return sum(pcts) / n, geo, better, worse, n, evaluations, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME=FILE")
    parser.add_argument("--modules", type=Path, help="module list: path, project, kind")
    parser.add_argument("--plot", type=Path, help="write the curve here (PNG)")
    args = parser.parse_args()
    kinds = {}
    if args.modules:
        for line in args.modules.read_text().splitlines():
            path, _, kind = line.split("\t")
            kinds[path] = kinds[Path(path).name] = kind
    rows = load(args.run)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["objective"], row["system"], row["budget"])].append(row)
    curves: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for objective in sorted({k[0] for k in groups}):
        print(
            f"\n{objective}: improvement over -Oz (mean, geometric mean), programs better "
            "and worse, mean evaluations and seconds per program"
        )
        print(
            f"{'system':10} {'budget':>6} {'mean':>7} {'geomean':>8} {'better':>6} {'worse':>5}"
            f" {'n':>3} {'evals':>6} {'secs':>5}  per family"
        )
        keys = sorted(
            (k for k in groups if k[0] == objective),
            key=lambda k: (k[2] is not None, k[1], k[2] or 0),
        )
        for key in keys:
            _, system, budget = key
            mean, geo, better, worse, n, evaluations, seconds = summary(groups[key])
            fam = defaultdict(list)
            for row in groups[key]:
                kind = kinds.get(row["file"]) or kinds.get(Path(row["file"]).name, "?")
                fam[kind].append(row["improvement_pct"])
            families = ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(fam.items()))
            label = "-" if budget is None else f"{budget:g}s"
            print(
                f"{system:10} {label:>6} {mean:6.2f}% {geo:7.2f}% {better:6d} {worse:5d} {n:3d}"
                f" {evaluations:6.0f} {seconds:5.1f}  {families}"
            )
            curves[objective][system].append((budget, mean, n))
    if args.plot:
        draw(curves, args.plot)
        print(f"\nplot: {args.plot}")
    return 0


def draw(curves: dict, path: Path) -> None:
    """One panel per objective: systems with budgets as lines, the rest as flat lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4), squeeze=False)
    for ax, (objective, systems) in zip(axes[0], sorted(curves.items())):
        for system, points in sorted(systems.items()):
            timed = sorted(p for p in points if p[0] is not None)
            if timed:
                ax.plot([p[0] for p in timed], [p[1] for p in timed], marker="o", label=system)
            else:
                ax.axhline(
                    points[0][1],
                    linestyle="--",
                    linewidth=1,
                    label=system,
                    color="grey" if system == "-Oz" else None,
                )
        ax.set_xscale("log")
        ax.set_xlabel("seconds per program")
        ax.set_ylabel("mean improvement over -Oz (%)")
        ax.set_title(objective)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
