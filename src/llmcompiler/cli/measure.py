"""``llmc size`` and ``llmc opt``: instruction count and binary size of each file, as given
and at -Oz, or after a pass pipeline (optionally written out with -o)."""

from __future__ import annotations

import argparse
import json

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, printable, progress
from llmcompiler.engine import EvalResult, Evaluator, Objective, Task
from llmcompiler.engine.result import CRASH, INVALID_PIPELINE, TIMEOUT, VERIFY_FAILED
from llmcompiler.pipeline import OZ
from llmcompiler.program import Program


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``size`` and ``opt``."""
    size = subparsers.add_parser(
        "size", help="instruction count and binary size, as given and at -Oz"
    )
    common.add_batch(size)
    _add_fast_size(size)
    size.set_defaults(run=run_size)

    opt = subparsers.add_parser("opt", help="apply a pass pipeline and measure the result")
    common.add_batch(opt)
    _add_fast_size(opt)
    opt.add_argument(
        "-p",
        "--passes",
        required=True,
        metavar="PIPELINE",
        help="new pass manager pipeline, as for opt -passes=",
    )
    common.add_output(opt, "write the result: .ll (IR), .bc (bitcode), .o (object), .s (assembly)")
    opt.set_defaults(run=run_opt)


def _add_fast_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fast-size",
        action="store_true",
        help="measure size with the in-process emitter instead of llc-19 (faster; "
        "may differ from llc around libcalls such as sqrt)",
    )


def run_size(args: argparse.Namespace) -> int:
    """Measure each file as given and at -Oz; print a table or JSON.

    Returns 0, or 1 when some file could not be loaded or measured (reported on stderr;
    in JSON, such a file's record holds ``error``).
    """
    return _measure(args, ["", OZ], None)


def run_opt(args: argparse.Namespace) -> int:
    """Run ``--passes`` on each file and measure the result; print a table or JSON.

    Returns 0, or 1 when some file could not be loaded or the pipeline failed on it
    (reported on stderr; in JSON, such a file's record holds ``error``).

    Raises:
        UsageError: -o with several files, an -o suffix that names no output kind, or an
            -o that cannot be written.
    """
    output = common.output_kind(args.output, len(args.files))
    return _measure(args, [args.passes], output)


def _measure(args: argparse.Namespace, pipelines: list[str], output: str | None) -> int:
    jobs = common.job_count(args)
    objective = Objective(size_path="fast" if args.fast_size else "llc")
    inputs = common.Inputs(args, jobs)
    programs = list(inputs)
    failed = inputs.failed
    tasks = [Task(p, pl, objective, output) for p in programs for pl in pipelines]
    results: list[EvalResult | None] = [None] * len(tasks)
    cache = common.open_cache(None if args.no_cache else args.cache) if tasks else None
    if tasks:  # no worker starts when no input loaded
        with Evaluator(jobs=min(jobs, len(tasks)), timeout=args.timeout, cache=cache) as ev:
            for index, result in progress(ev.run(tasks), len(tasks), "evaluating"):
                results[index] = result
    rows = []
    i = 0  # the program's place in ``programs``
    for path, program in inputs.loaded:  # every input, in order: failures keep their place
        if not isinstance(program, Program):
            rows.append({"file": path, "error": str(program)})
            continue
        mine = results[i * len(pipelines) : (i + 1) * len(pipelines)]
        i += 1
        bad = next((r for r in mine if not r.ok), None)
        if bad is not None:
            error(f"{program.name}: {_describe_failure(bad)}")
            failed += 1
            rows.append({"file": program.name, "error": _describe_failure(bad)})
            continue
        if args.command == "size":
            rows.append(
                {
                    "file": program.name,
                    "input": {"instcount": mine[0].instcount, "size": mine[0].size},
                    "oz": {"instcount": mine[1].instcount, "size": mine[1].size},
                }
            )
        else:
            rows.append(
                {
                    "file": program.name,
                    "pipeline": args.passes,
                    "instcount": mine[0].instcount,
                    "size": mine[0].size,
                }
            )
            if output:
                common.write_output(args.output, mine[0].output)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(args.command, [r for r in rows if "error" not in r])
    if cache is not None:
        cache.close()
    return 1 if failed else 0


def _describe_failure(result: EvalResult) -> str:
    """One line saying why an evaluation failed: its kind, then LLVM's message."""
    prefix = {
        INVALID_PIPELINE: "invalid pipeline",
        VERIFY_FAILED: "pipeline produced invalid IR",
        CRASH: "pipeline crashed LLVM",
        TIMEOUT: "pipeline timed out",
    }.get(result.status, "evaluation failed")
    return f"{prefix}: {result.error}"


def _print_table(command: str, rows: list[dict]) -> None:
    if not rows:
        return
    if command == "size":
        header = ("file", "instcount", "size", "Oz instcount", "Oz size")
        lines = [
            (
                r["file"],
                r["input"]["instcount"],
                r["input"]["size"],
                r["oz"]["instcount"],
                r["oz"]["size"],
            )
            for r in rows
        ]
    else:
        header = ("file", "instcount", "size")
        lines = [(r["file"], r["instcount"], r["size"]) for r in rows]
    table = [tuple(map(str, header))] + [(printable(ln[0]), *map(str, ln[1:])) for ln in lines]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        print("  ".join(cells))
    if command == "opt":
        print(f"pipeline: {rows[0]['pipeline']}")
