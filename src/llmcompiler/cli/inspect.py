"""``llmc inspect``: SSA and CFG facts of each function, optionally before and after a pipeline."""

from __future__ import annotations

import argparse
import json

from llmcompiler.analysis.facts import SCALAR_FIELDS, FunctionFacts, module_facts
from llmcompiler.cli import args as common
from llmcompiler.engine import Evaluator, Objective
from llmcompiler.engine.result import INVALID_PIPELINE
from llmcompiler.errors import EvaluationError, InputError, PipelineError
from llmcompiler.llvm import Module
from llmcompiler.program import Program, load_program


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``inspect``."""
    p = subparsers.add_parser("inspect", help="SSA/CFG facts per function, before and after passes")
    common.add_function_input(p)
    common.add_target(p)
    p.add_argument(
        "--passes",
        metavar="PIPELINE",
        help="also show the facts after this pipeline (opt -passes= syntax), side by side",
    )
    common.add_json(p, 'print {"file", "triple", "before", "after"} as JSON')
    p.set_defaults(run=run)


def run_pipeline(program: Program, pipeline: str, timeout: float = 120.0) -> bytes:
    """Run ``pipeline`` on ``program`` in a worker process (an LLVM crash cannot take the
    CLI down); return the optimized bitcode.

    Raises:
        PipelineError: LLVM rejected the pipeline text.
        EvaluationError: the pipeline crashed, timed out or produced invalid IR.
    """
    with Evaluator(jobs=1, timeout=timeout) as ev:
        result = ev.evaluate(program, pipeline, Objective(metric="instcount"), output="bitcode")
    if result.status == INVALID_PIPELINE:
        raise PipelineError(f"invalid pipeline {pipeline!r}: {result.error}")
    if not result.ok:
        raise EvaluationError(f"{program.name}: pipeline {pipeline!r} failed: {result.error}")
    return result.output


def _facts(bitcode: bytes, name: str, only: str | None) -> list[FunctionFacts]:
    with Module.parse(bitcode, name) as module:
        return module_facts(module, only)


def run(args: argparse.Namespace) -> int:
    """Print the facts of each function, as a table or JSON; returns 0.

    Raises:
        InputError: a bad file, or no function named --function.
        PipelineError, EvaluationError: --passes is invalid or fails on the file.
    """
    program = load_program(args.file, flags=common.compile_flags(args))
    before = _facts(program.bitcode, program.name, args.function)
    if args.function and not before:
        raise InputError(f"{args.file}: no defined function named {args.function!r}")
    after = None
    if args.passes is not None:
        after = _facts(run_pipeline(program, args.passes), program.name, args.function)
    if args.json:
        out = {"file": args.file, "triple": program.triple}
        out["before"] = [f.to_json() for f in before]
        if after is not None:
            out["after"] = [f.to_json() for f in after]
        print(json.dumps(out, indent=2))
        return 0
    after_by_name = {f.name: f for f in after or []}
    for i, fn in enumerate(before):
        if i:
            print()
        _print_function(fn, after_by_name.get(fn.name), after is not None, args.passes)
    for name in after_by_name.keys() - {f.name for f in before}:
        print(f"\n@{name}: new after the pipeline")
    return 0


def _print_function(
    fn: FunctionFacts, after: FunctionFacts | None, compare: bool, pipeline: str | None
) -> None:
    print(f"@{fn.name}")
    if compare:
        print(f"  {'':20} {'before':>8} {'after':>8}")
    for name in SCALAR_FIELDS:
        row = f"  {name:20} {getattr(fn, name):>8}"
        if compare:
            row += f" {getattr(after, name) if after else '-':>8}"
        print(row)
    print(f"  {'uses_per_value':20} {fn.uses_per_value:>8.2f}", end="")
    print(f" {after.uses_per_value:>8.2f}" if after else (f" {'-':>8}" if compare else ""))
    if compare and after is None:
        print(f"  (gone after {pipeline})")
    for label, facts in (("", fn), ("after: ", after)):
        if facts is None:
            continue
        print(f"  {label}opcodes: " + ", ".join(f"{k} {v}" for k, v in facts.opcodes.items()))
        print(
            f"  {label}cfg: "
            + "; ".join(f"{b} -> {', '.join(s) or '.'}" for b, s in facts.cfg.items())
        )
        print(
            f"  {label}idom: "
            + ", ".join(f"{b} <- {d}" for b, d in facts.idom.items() if d is not None)
        )
        for lp in facts.loops:
            print(
                f"  {label}loop {lp.header}: depth {lp.depth}, {lp.blocks} blocks, "
                f"latches {', '.join(lp.latches)}"
            )
