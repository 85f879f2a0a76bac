"""``llmc narrow``: integer operations that provably fit a narrower type, with proofs;
``--apply`` rewrites the module, verifies it and runs it against the original."""

from __future__ import annotations

import argparse
import json
import sys

from llmcompiler.analysis.narrow import NarrowReport, apply_narrowing, find_narrowing
from llmcompiler.cli import args as common
from llmcompiler.cli.inspect import run_pipeline
from llmcompiler.cli.report import printable, warning
from llmcompiler.errors import InputError, UsageError
from llmcompiler.llvm import Module
from llmcompiler.llvm.ir import function
from llmcompiler.llvm.runtime import why_not
from llmcompiler.program import Program, load_program
from llmcompiler.search.validate import RunSpec, Validator

#: The analysis needs SSA form: the front end leaves locals in allocas.
DEFAULT_PRE = "function(mem2reg)"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``narrow``."""
    p = subparsers.add_parser(
        "narrow", help="integer operations that fit a narrower type, with proofs"
    )
    common.add_function_input(p)
    common.add_target(p)
    p.add_argument(
        "--pre",
        default=DEFAULT_PRE,
        metavar="PIPELINE",
        help=f"pipeline run before the analysis (default: {DEFAULT_PRE}; '' for none)",
    )
    common.add_json(p, "print the report as JSON")
    p.add_argument("--refused", action="store_true", help="also list candidates left wide, and why")
    p.add_argument("--apply", action="store_true", help="rewrite the module (needs -o)")
    common.add_output(p, "where --apply writes: .ll or .bc")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="with --apply, skip the differential run against the original",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyze (and with --apply rewrite) the file; print the report.

    Returns 0, or 1 when the rewritten program's differential run differs from the original.

    Raises:
        UsageError: --apply without -o, or -o not .ll or .bc, or not writable.
        InputError: a bad file, or no function named --function.
    """
    if args.apply and not args.output:
        raise UsageError("--apply needs -o OUT (.ll or .bc)")
    kind = common.output_kind(args.output, kinds=common.IR_KINDS)
    program = load_program(args.file, flags=common.compile_flags(args))
    bitcode = run_pipeline(program, args.pre) if args.pre else program.bitcode
    check = None
    with Module.parse(bitcode, program.name) as module:
        fn = function(module, args.function) if args.function else None
        if args.function and (fn is None or fn.is_declaration):
            raise InputError(f"{args.file}: no defined function named {args.function!r}")
        if args.apply:
            report = apply_narrowing(module, args.function)
            out = module.to_text().encode() if kind == "ir" else module.to_bitcode()
            narrowed = module.to_bitcode()
        else:
            report = find_narrowing(module, args.function)
    skipped = "no main"  # why the differential run was not made
    if args.apply:
        common.write_output(args.output, out)
        check, skipped = _differential(program, narrowed, args.no_check)
    if args.json:
        data = {"file": args.file, "pre": args.pre, **report.to_json()}
        if not args.refused:
            data["refused"] = len(report.refused)
        if args.apply:
            data["output"] = args.output
            data["verified"] = True
            data["differential"] = None if check is None else {"same": check[0], "detail": check[1]}
        print(json.dumps(data, indent=2))
    else:
        _print_report(report, args)
        if args.apply:
            print(f"wrote {printable(args.output)} (verified)")
            if check is not None:
                print(f"differential run: {'ok' if check[0] else 'FAILED'}: {check[1]}")
            elif skipped:
                print(f"differential run: skipped ({skipped})")
    return 1 if check is not None and not check[0] else 0


def _differential(
    program: Program, narrowed: bytes, no_check: bool
) -> tuple[tuple[bool, str] | None, str]:
    """Run the narrowed module against the original: ``(check, '')``, or ``(None, why
    not)`` when it is not run (no main, a target whose programs cannot run here, an
    original that times out; '' for --no-check). A target that cannot run is also warned
    about, as ``llmc optimize`` does.

    Raises:
        LLMCError: the original does not link for the run.
    """
    if no_check:
        return None, ""
    if not program.has_main:
        return None, "no main"
    if cannot := why_not(program.triple):  # bare metal, Mach-O, no emulator...
        warning(f"{program.name}: not validated: {cannot}")
        return None, f"not validated: {cannot}"
    validator = Validator(program, RunSpec())
    try:
        if validator.unusable:  # the original timed out: nothing to compare with
            return None, validator.unusable
        return validator.check(narrowed), ""
    finally:
        validator.close()


def _print_report(report: NarrowReport, args: argparse.Namespace) -> None:
    for o in report.opportunities:
        shown = "" if o.result is None else f" range {o.result}"
        print(
            f"@{o.function} {o.value}: {o.kind} ({o.opcode}) i{o.width} -> i{o.narrow_width}{shown}"
        )
        print(f"    {o.instruction}")
        print(f"    proof: {o.proof}")
    if args.refused:
        for r in report.refused:
            print(f"@{r.function} {r.value}: {r.opcode} i{r.width} stays: {r.reason}")
    print(
        f"{len(report.opportunities)} narrowing opportunities among {report.examined} "
        f"integer instructions examined ({len(report.refused)} left wide) after "
        f"{args.pre or 'no pipeline'}",
        file=sys.stderr,
    )
