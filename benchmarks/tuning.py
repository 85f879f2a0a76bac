"""Tuning quality: how much smaller than -Oz `llmc optimize` gets, per budget.

For every program of the benchmark set (benchmarks/program_sets.py bench/ and the real
library files), and each objective (binary size, IR instruction count), it runs:
  -Oz alone, the coreset alone (its lists and -Oz, best kept), and search at each budget,
and reports the mean and geometric-mean improvement over -Oz, the share of programs
improved / equal / worse, and evaluations and seconds per program. All final numbers
are measured with llc-19 (size) or the instruction count of the optimized IR.

Usage: python benchmarks/tuning.py SETS_DIR [--budgets 1,10] [--objectives size,instcount]
       [--limit N] [--jobs 2] [--validate] [--out results.jsonl] [--no-per-function] [--no-screen]
       [--model builtin|PATH [--candidates 4] [--only-model | --search-with-model]]

With --model, a "model k=K" run asks the model for K lists and keeps the best of them
and -Oz, all measured with llc-19 (K + 1 evaluations per program).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import defaultdict
from pathlib import Path

from llmcompiler.engine import Evaluator
from llmcompiler.errors import LLMCError
from llmcompiler.program import load_programs
from llmcompiler.search.coreset import coreset_for, load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.space import LEVELS
from llmcompiler.search.tuner import OZ_DIFFERS, TuneConfig, optimize
from module_list import per_project, read_modules, within_size


def program_paths(sets: Path, limit: int | None, seed: int) -> list[tuple[str, list[str]]]:
    """(path, include dirs) of the benchmark programs."""
    out = [(str(p), ["/usr/include/csmith"]) for p in sorted((sets / "bench").glob("*.c"))]
    for line in (sets / "real_files.txt").read_text().split():
        path = Path(line)
        includes = [str(path.parent)] + [
            str(p) for p in path.parents if (p / "include").is_dir() for p in [p / "include"]
        ]
        out.append((line, includes))
    if limit and limit < len(out):
        out = sorted(random.Random(seed).sample(out, limit))
    return out


def summarize(rows: list[dict]) -> dict:
    rows = [r for r in rows if r["oz"] > 0]  # e.g. data-only files have no instructions
    n = len(rows)
    imps = [r["improvement_pct"] for r in rows]
    ratios = [r["oz"] / r["best"] for r in rows]
    return {
        "programs": n,  # programs whose -Oz value is not 0
        "mean_pct": sum(imps) / n,
        "geomean_pct": (math.exp(sum(map(math.log, ratios)) / n) - 1) * 100,
        "improved": sum(i > 0 for i in imps) / n * 100,
        "equal": sum(i == 0 for i in imps) / n * 100,
        "worse": sum(i < 0 for i in imps) / n * 100,
        "evaluations": sum(r["evaluations"] for r in rows) / n,
        "seconds": sum(r["seconds"] for r in rows) / n,
        "max_seconds": max(r["seconds"] for r in rows),
        "validated": sum(r.get("validated") is True for r in rows),
        "unchecked": sum(r.get("validated") is None for r in rows),
        "failed": sum(r.get("validated") is False and not r.get("oz_differs") for r in rows),
        "oz_differs": sum(bool(r.get("oz_differs")) for r in rows),
        "discarded": sum(r.get("discarded_by_validation", 0) for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=Path, nargs="?", help="program_sets.py's folder")
    parser.add_argument(
        "--modules",
        type=Path,
        help="instead of SETS: a module list of benchmarks/real_code.py (test_modules.txt: "
        "path, project, kind per line); means are also printed per kind",
    )
    parser.add_argument("--budgets", default="1,10")
    parser.add_argument("--objectives", default="size,instcount")
    parser.add_argument("--limit", type=int, default=None, help="random sample of programs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--per-project",
        type=int,
        default=0,
        metavar="N",
        help="with --modules: a seeded sample of N modules of each project",
    )
    parser.add_argument(
        "--method",
        default="local",
        choices=["local", "random", "greedy"],
        help="search method of the budgeted runs (labelled by it unless local)",
    )
    parser.add_argument(
        "--instructions",
        default=None,
        metavar="LOW-HIGH",
        help="with --modules: only modules of LOW to HIGH (excluded; empty: no limit) IR "
        "instructions before optimization, from the corpus manifest (e.g. 20000-)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--coreset", default=None, help="coreset file (default: the shipped one for each objective)"
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip -Oz and coreset")
    parser.add_argument(
        "--no-per-function",
        action="store_true",
        help="no function pipelines per function after search (llmc optimize --no-per-function)",
    )
    parser.add_argument(
        "--no-screen",
        action="store_true",
        help="no screening of the seeds on a sample of a large module (llmc optimize --no-screen)",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="searches check winners against the -O0 build (programs with main)",
    )
    parser.add_argument("--out", type=Path, default=None, help="per-program results (JSONL)")
    parser.add_argument(
        "--model",
        default=None,
        metavar="builtin|PATH",
        help="also run the model method: the model's lists and -Oz, nothing else",
    )
    parser.add_argument("--candidates", type=int, default=4, help="lists asked of the model")
    parser.add_argument(
        "--only-model", action="store_true", help="with --model: skip baselines and searches"
    )
    parser.add_argument(
        "--search-with-model",
        action="store_true",
        help="with --model: searches start from the model's lists, as llmc optimize does "
        "by default (labelled 'search Ns+model'; no model-only run)",
    )
    args = parser.parse_args()
    if (args.sets is None) == (args.modules is None):
        parser.error("give SETS or --modules")
    if (args.search_with_model or args.only_model) and not args.model:
        # without a model the runs would be labelled "+model" and search alone
        parser.error("--search-with-model and --only-model need --model builtin|PATH")
    kinds: dict[str, str] = {}
    if args.modules:
        rows = read_modules(args.modules)
        if args.instructions:
            low, _, high = args.instructions.partition("-")
            rows = within_size(rows, int(low or 0), int(high) if high else None)
        kinds = {row.path: row.family for row in rows}
        entries = [(row.path, []) for row in per_project(rows, args.per_project, args.seed)]
        if args.limit and args.limit < len(entries):
            entries = sorted(random.Random(args.seed).sample(entries, args.limit))
    else:
        entries = program_paths(args.sets, args.limit, args.seed)
    programs = []
    for path, includes in entries:
        ((_, program),) = load_programs([path], includes)
        if isinstance(program, LLMCError):
            print(f"skipped: {program}", file=sys.stderr)
        else:
            programs.append(program)
    print(f"{len(programs)} programs")
    budgets = [float(b) for b in args.budgets.split(",") if b.strip()]  # "": baselines only
    out = open(args.out, "w") if args.out else None  # noqa: SIM115 (closed at exit)
    table = []
    with Evaluator(jobs=args.jobs) as ev:
        for objective in args.objectives.split(","):
            key = "size" if objective == "size" else "instcount"
            model = None
            if args.model:  # the built-in one learned for the objective, as llmc optimize
                from llmcompiler.model.loading import load_pass_list_model

                model = load_pass_list_model(args.model, objective=objective)
            # the shipped coreset learned for the objective (and the programs' target)
            coreset = (
                load_coreset(args.coreset)
                if args.coreset
                else coreset_for(programs[0].triple, objective)
            )
            print(
                f"{objective} coreset: {len(coreset.pipelines)} lists, learned for "
                f"{coreset.provenance.get('objective')} on {coreset.provenance.get('corpus')}",
                flush=True,
            )
            # "coreset": -Oz, LLVM's other levels and the coreset lists, nothing else
            seeds = 1 + len(LEVELS) + len(coreset.pipelines)
            runs = (
                []
                if args.no_baselines
                else [
                    ("-Oz", Budget(None, 0), ()),
                    ("coreset", Budget(None, seeds), coreset.pipelines),
                ]
            )
            plus = "+model" if args.search_with_model else ""
            name = "search" if args.method == "local" else args.method
            runs += [(f"{name} {b:g}s{plus}", Budget(b), coreset.pipelines) for b in budgets]
            if model is not None and not args.search_with_model:
                label = f"model k={args.candidates}"
                runs = [] if args.only_model else runs
                runs.append((label, Budget(None, 1 + args.candidates), ()))
            for label, budget, lists in runs:
                rows = []
                # -Oz and the coreset alone are what they are whatever --method says
                # (random search ignores seeds: under --method random the "coreset" row
                # used to be 78 random lists)
                if label.startswith("model"):
                    method = "model"
                elif label.startswith(name):
                    method = args.method
                else:
                    method = "local"
                for program in programs:
                    config = TuneConfig(
                        budget=budget,
                        metric=objective,
                        coreset=lists,
                        seed=args.seed,
                        validate=args.validate and label.startswith(name),
                        method=method,
                        # the baselines are -Oz and the coreset alone, nothing after them
                        per_function=not args.no_per_function and label.startswith(name),
                        screen=not args.no_screen,
                        **(
                            {"model": model, "candidates": args.candidates}
                            if label.startswith("model")
                            else {}
                        ),
                        **({"model": model} if label.endswith("+model") else {}),
                    )
                    try:
                        r = optimize(ev, program, config)
                    except LLMCError as err:
                        print(f"failed: {err}", file=sys.stderr)
                        continue
                    row = {
                        "objective": objective,
                        "run": label,
                        "file": program.name,
                        "oz": getattr(r.oz, key),
                        "best": getattr(r.best, key),
                        "improvement_pct": r.improvement_pct,
                        "evaluations": r.evaluations,
                        "seconds": r.seconds,
                        "pipeline": r.pipeline,
                        "validated": r.validated,
                        "oz_differs": r.validated is False and OZ_DIFFERS in r.validation,
                        "discarded_by_validation": sum(
                            why.startswith("validation failed") for _, why in r.discarded
                        ),
                        "discarded": len(r.discarded),  # winners of search rejected after it
                        # lists that call a body -Oz inlined (search.accept.LinkageCheck)
                        "discarded_by_linkage": sum(
                            "available_externally" in why for _, why in r.discarded
                        ),
                    }
                    rows.append(row)
                    if out:
                        out.write(json.dumps(row) + "\n")
                        out.flush()
                s = summarize(rows)
                table.append((objective, label, s))
                by_kind = defaultdict(list)
                for row in rows:
                    by_kind[kinds.get(row["file"], "")].append(row["improvement_pct"])
                if kinds:
                    print(
                        "  by kind: "
                        + ", ".join(
                            f"{k} {sum(v) / len(v):.2f}% ({len(v)})"
                            for k, v in sorted(by_kind.items())
                        ),
                        flush=True,
                    )
                print(
                    f"{objective:9} {label:12} mean {s['mean_pct']:6.2f}%  geomean "
                    f"{s['geomean_pct']:6.2f}%  improved/equal/worse {s['improved']:5.1f}/"
                    f"{s['equal']:5.1f}/{s['worse']:4.1f}%  evals {s['evaluations']:7.1f}  "
                    f"seconds {s['seconds']:6.2f} (max {s['max_seconds']:.1f})",
                    flush=True,
                )
                if config.validate:
                    print(
                        f"{'':22} validated {s['validated']}, not checked (no main) "
                        f"{s['unchecked']}, failed {s['failed']} (and {s['oz_differs']} whose "
                        f"-Oz build differs from -O0); candidates discarded by validation "
                        f"{s['discarded']}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
