"""``llmc optimize``: search pass lists that beat -Oz for each file and print a table."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from llmcompiler.errors import LLMCError
from llmcompiler.evaluate import Evaluator, ResultCache, default_jobs
from llmcompiler.program import load_programs
from llmcompiler.search.coreset import load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.strategies import METHODS
from llmcompiler.search.tuner import TuneConfig, optimize
from llmcompiler.search.validate import RunSpec

OUTPUT_KINDS = {".ll": "ir", ".bc": "bitcode", ".o": "object", ".s": "asm"}


def add_arguments(p) -> None:
    p.add_argument(
        "--budget",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="search time per file (default: 5)",
    )
    p.add_argument(
        "--evaluations",
        type=int,
        default=None,
        metavar="N",
        help="stop search after N evaluations (with --seed: fully deterministic)",
    )
    p.add_argument(
        "--objective",
        choices=("size", "instcount"),
        default="size",
        help="binary size (default) or IR instruction count",
    )
    p.add_argument(
        "--method",
        choices=sorted([*METHODS, "model"]),
        default="local",
        help="local: the model's lists, the coreset, then evolution (default); model: the "
        "model's lists only (--candidates evaluations and -Oz); greedy and random baselines",
    )
    p.add_argument(
        "--model",
        default="builtin",
        metavar="builtin|PATH",
        help="pass-list model: the built-in ranker (default) or a Hugging Face checkpoint",
    )
    p.add_argument("--no-model", action="store_true", help="search without model proposals")
    p.add_argument(
        "--candidates",
        type=int,
        default=4,
        metavar="K",
        help="pass lists asked of the model (default 4: with -Oz, 5 evaluations)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--coreset", metavar="JSON", help="pass lists to try first (default: the shipped coreset)"
    )
    p.add_argument("--no-coreset", action="store_true", help="start from -Oz alone")
    p.add_argument(
        "--validate",
        action="store_true",
        help="run each winner against the -O0 build; discard any that differs",
    )
    p.add_argument("--args", default="", metavar="'ARG ...'", help="arguments for validation runs")
    p.add_argument("--stdin", metavar="FILE", help="standard input for validation runs")
    p.add_argument(
        "--run-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time limit of one validation run",
    )
    p.add_argument(
        "-o", "--output", metavar="OUT", help="write the result for one input: .ll, .bc, .o or .s"
    )


def run_optimize(args, cache_path: str | None, progress) -> int:
    """Optimize every file; print a table or JSON; return the exit code."""
    output = None
    if args.output:
        if len(args.files) > 1:
            print("llmc: error: -o takes one input file", file=sys.stderr)
            return 2
        output = OUTPUT_KINDS.get(Path(args.output).suffix)
        if output is None:
            print(
                f"llmc: error: {args.output}: output must end in {', '.join(OUTPUT_KINDS)}",
                file=sys.stderr,
            )
            return 2
    stdin = Path(args.stdin).read_bytes() if args.stdin else b""
    coreset = () if args.no_coreset else load_coreset(args.coreset).pipelines
    config = TuneConfig(
        budget=Budget(args.budget, args.evaluations),
        metric=args.objective,
        seed=args.seed,
        method=args.method,
        coreset=coreset,
        validate=args.validate,
        run=RunSpec(tuple(args.args.split()), stdin, args.run_timeout),
    )
    if args.candidates < 1:
        print("llmc: error: --candidates must be at least 1", file=sys.stderr)
        return 2
    model = None
    if args.method == "model" or not args.no_model:
        if args.method == "model" and args.no_model:
            print("llmc: error: --method model needs a model (drop --no-model)", file=sys.stderr)
            return 2
        from llmcompiler.model.loading import load_pass_list_model

        model = load_pass_list_model(args.model)
    config = replace(config, model=model, candidates=args.candidates)
    jobs = args.jobs or default_jobs()
    failed = 0
    results = []
    cache = None
    if cache_path and not args.no_cache:
        os.makedirs(os.path.dirname(os.path.abspath(cache_path)), exist_ok=True)
        cache = ResultCache(cache_path)
    with Evaluator(jobs=jobs, timeout=args.timeout, cache=cache) as ev:
        loading = load_programs(args.files, args.include, args.define, jobs=jobs)
        for _path, program in progress(loading, len(args.files), "optimizing"):
            if isinstance(program, LLMCError):
                print(f"llmc: error: {program}", file=sys.stderr)
                failed += 1
                continue
            try:
                result = optimize(ev, program, config, output=output)
            except LLMCError as err:
                print(f"llmc: error: {err}", file=sys.stderr)
                failed += 1
                continue
            if result.validated is False:
                failed += 1
                print(f"llmc: error: {program.name}: {result.validation}", file=sys.stderr)
            if output:
                Path(args.output).write_bytes(result.output)
            results.append(result)
            if not args.json:
                print_result(result, len(results) == 1, max(map(len, args.files)))
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    if cache is not None:
        cache.close()
    if model is not None:
        model.close()
    return 1 if failed else 0


_COLUMNS = (
    "file",
    "Oz size",
    "Oz instrs",
    "best size",
    "best instrs",
    "improvement",
    "evals",
    "seconds",
    "validated",
)


def print_result(r, header: bool, name_width: int = 24) -> None:
    """Print one table row, then the pass list on its own line."""
    validated = {None: "-", True: "yes", False: "FAILED"}[r.validated]
    if r.validation == "not validated (no main)":
        validated = "no main"
    cells = (
        r.file,
        r.oz.size,
        r.oz.instcount,
        r.best.size,
        r.best.instcount,
        f"{r.improvement_pct:.2f}%",
        r.evaluations,
        f"{r.seconds:.1f}",
        validated,
    )
    widths = (max(name_width, len(r.file)), 8, 9, 9, 11, 11, 6, 7, 9)
    if header:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(_COLUMNS, widths))
            )
        )
    print(
        "  ".join(
            str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )
    )
    print(f"  passes: {r.pipeline}")
    if r.summary() != r.pipeline:
        print(f"  (that is: {r.summary()})")
    if r.proposals:
        valid = [p for p in r.proposals if p.size is not None]
        line = f"  model: {len(r.proposals)} lists proposed, {len(valid)} compiled"
        if valid:
            best = min(p.size for p in valid)
            line += f", best {best} bytes ({(r.oz.size - best) / r.oz.size * 100:+.2f}% vs -Oz)"
        print(line)
    if r.needs_llmc:
        print(
            "  (holds llmc-narrow, llmcompiler's own step: reproduce it with llmc opt, not opt-19)"
        )
    sys.stdout.flush()
