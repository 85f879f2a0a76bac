"""``llmc optimize``: search pass lists that beat -Oz for each file and print a table."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, note, printable, warning
from llmcompiler.engine import Evaluator
from llmcompiler.errors import LLMCError, UsageError
from llmcompiler.pipeline import steps_in
from llmcompiler.program import read_file
from llmcompiler.search.coreset import (
    SHIPPED_FAMILY,
    coreset_for,
    describe_coreset,
    load_coreset,
)
from llmcompiler.search.run import Budget
from llmcompiler.search.strategies import METHODS
from llmcompiler.search.tuner import TuneConfig, TuneResult, optimize
from llmcompiler.search.validate import RunSpec


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``optimize``."""
    p = subparsers.add_parser("optimize", help="find pass lists that beat -Oz")
    common.add_batch(p)
    common.add_budget(
        p,
        5.0,
        "search time per file (default: 5)",
        "stop search after N evaluations (with --seed: fully deterministic)",
    )
    common.add_objective(p)
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
    common.add_seed(p)
    p.add_argument(
        "--coreset", metavar="JSON", help="pass lists to try first (default: the shipped coreset)"
    )
    p.add_argument("--no-coreset", action="store_true", help="start from -Oz alone")
    p.add_argument(
        "--no-per-function",
        action="store_true",
        help="one pass list for the whole module: do not add function pipelines per "
        "function (llmc-functions steps) after search",
    )
    p.add_argument(
        "--no-screen",
        action="store_true",
        help="on a large module, try the seeds in their own order instead of screening "
        "them on a sample of the module first (instruction count)",
    )
    p.add_argument(
        "--validate",
        action="store_true",
        help="run each winner against the -O0 build; discard any that differs",
    )
    p.add_argument("--args", default="", metavar="'ARG ...'", help="arguments for validation runs")
    p.add_argument("--stdin", metavar="FILE", help="standard input for validation runs")
    p.add_argument(
        "--run-timeout",
        type=common.positive_float,
        default=10.0,
        metavar="SECONDS",
        help="time limit of one validation run",
    )
    common.add_output(p, "write the result for one input: .ll, .bc, .o or .s")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Optimize every file; print a table row per file as it finishes, or JSON at the end.

    Returns 0, or 1 when some file could not be loaded or optimized, or its winner failed
    validation (each reported on stderr).

    Raises:
        UsageError: a bad -o (or one that cannot be written), --candidates below 1, or
            --method model with --no-model.
        LLMCError: the coreset, the --stdin file or the model cannot be read.
    """
    output = common.output_kind(args.output, len(args.files))
    if args.candidates < 1:
        raise UsageError("--candidates must be at least 1")
    if args.method == "model" and args.no_model:
        raise UsageError("--method model needs a model (drop --no-model)")
    stdin = read_file(args.stdin) if args.stdin else b""
    coreset = () if args.no_coreset else load_coreset(args.coreset).pipelines
    per_target = not args.no_coreset and not args.coreset  # the shipped data for each target
    config = TuneConfig(
        budget=Budget(args.budget, args.evaluations),
        metric=args.objective,
        seed=args.seed,
        method=args.method,
        coreset=coreset,
        validate=args.validate,
        run=RunSpec(tuple(args.args.split()), stdin, args.run_timeout),
        per_function=not args.no_per_function,
        screen=not args.no_screen,
    )
    model = None
    if args.method == "model" or not args.no_model:
        from llmcompiler.model.loading import load_pass_list_model

        model = load_pass_list_model(args.model, objective=args.objective)
    config = replace(config, model=model, candidates=args.candidates)
    jobs = common.job_count(args)
    inputs = common.Inputs(args, jobs, "optimizing")
    failed = 0
    results = []
    cache = common.open_cache(None if args.no_cache else args.cache)
    with Evaluator(jobs=jobs, timeout=args.timeout, cache=cache) as ev:
        told: set[str] = set()
        for program in inputs:
            which = "none" if args.no_coreset else (args.coreset or "")
            tune = config
            if per_target:
                shipped = coreset_for(program.triple, args.objective)
                tune = replace(config, coreset=shipped.pipelines)
                which = shipped.provenance["target"]
                # said once per target, except for the family the first coreset was
                # learned on (x86-64), whose output is as it always was
                if (
                    program.triple not in told
                    and not args.json
                    and (which != SHIPPED_FAMILY or not shipped.provenance["fits"])
                ):
                    told.add(program.triple)
                    note(describe_coreset(shipped, program.triple))
            try:
                result = optimize(ev, program, tune, output=output)
            except LLMCError as err:
                error(str(err))
                failed += 1
                continue
            if result.validated is False:
                failed += 1
                error(f"{program.name}: {result.validation}")
            elif args.validate and result.validated is None and program.has_main:
                warning(f"{program.name}: {result.validation}")
            if args.budget is not None and result.oz_seconds > args.budget:
                note(overrun(result, args.budget))
            if output:
                common.write_output(args.output, result.output)
            results.append((result, program.triple, which))
            if not args.json:
                print_result(result, len(results) == 1, max(map(len, args.files)))
    if args.json:
        rows = [{**r.to_json(), "triple": t, "coreset": w} for r, t, w in results]
        print(json.dumps(rows, indent=2))
    if cache is not None:
        cache.close()
    if model is not None:
        model.close()
    return 1 if failed or inputs.failed else 0


def overrun(r: TuneResult, budget: float) -> str:
    """Why a search ran past its budget: one measurement of -Oz takes longer."""
    return (
        f"{r.file}: one -Oz measurement takes {r.oz_seconds:.2g} s, more than the "
        f"--budget of {budget:g} s: search tried only its first lists ({r.evaluations} "
        f"evaluations in {r.seconds:.1f} s); a budget of {_enough(r.oz_seconds)} s or "
        "more lets it search"
    )


def _enough(oz_seconds: float) -> int:
    """A budget that holds about ten evaluations as slow as -Oz, in whole seconds."""
    return max(1, round(10 * oz_seconds))


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


def print_result(r: TuneResult, header: bool, name_width: int = 24) -> None:
    """Print one table row, then the pass list on its own line, told as its difference
    from -Oz (the full ``opt -passes=`` text is in ``--json``'s ``best.pipeline``)."""
    validated = {None: "-", True: "yes", False: "FAILED"}[r.validated]
    if r.validation == "not validated (no main)":
        validated = "no main"
    elif r.validation.startswith("not validated (the -O0 build timed out"):
        validated = "timed out"
    elif r.validation.startswith("not validated: cannot run"):
        validated = "can't run"
    cells = (
        printable(r.file),
        "-" if r.oz.size is None else r.oz.size,
        r.oz.instcount,
        "-" if r.best.size is None else r.best.size,
        r.best.instcount,
        f"{r.improvement_pct:.2f}%",
        r.evaluations,
        f"{r.seconds:.1f}",
        validated,
    )
    widths = (max(name_width, len(cells[0])), 8, 9, 9, 11, 11, 6, 7, 9)
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
    print(f"  passes: {r.summary()}")
    if r.proposals:
        valid = [p for p in r.proposals if p.size is not None]
        line = f"  model: {len(r.proposals)} lists proposed, {len(valid)} compiled"
        if valid and r.oz.size:
            best = min(p.size for p in valid)
            line += f", best {best} bytes ({(r.oz.size - best) / r.oz.size * 100:+.2f}% vs -Oz)"
        print(line)
    if r.needs_llmc:
        own = " and ".join(dict.fromkeys(steps_in(r.pipeline)))
        print(f"  (holds {own}, llmcompiler's own step: reproduce it with llmc opt, not opt-19)")
    elif r.llvm_options:
        print(f"  (reproduce it with opt-19 {' '.join(r.llvm_options)} -passes=...)")
    sys.stdout.flush()
