"""``llmc passes``: show the LLVM 19 pass vocabulary, check pipelines, convert legacy flags."""

from __future__ import annotations

import argparse
import sys

from llmcompiler.cli.report import note, warning
from llmcompiler.pipeline import from_legacy, load_vocabulary, parse_pipeline, steps_in


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``passes``."""
    p = subparsers.add_parser("passes", help="the pass vocabulary (LLVM 19), pipeline checks")
    p.add_argument("--excluded", action="store_true", help="list excluded passes and why")
    p.add_argument("--check", metavar="PIPELINE", help="parse and validate a pipeline")
    p.add_argument(
        "--legacy",
        metavar="FLAGS",
        help="convert legacy flags such as '-mem2reg -licm' to a pipeline",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List the vocabulary, check a pipeline or convert legacy flags.

    Returns 0, or 1 when some legacy flag could not be converted.

    Raises:
        PipelineError: a bad --check pipeline.
    """
    vocab = load_vocabulary()
    if args.check:
        pipeline = parse_pipeline(args.check, vocab)
        print(pipeline.format())
        print(
            f"ok: {len(pipeline)} passes, all in the LLVM {vocab.llvm_version} vocabulary",
            file=sys.stderr,
        )
        for step in dict.fromkeys(steps_in(args.check)):
            note(f"{step} is llmcompiler's own step: run this list with llmc opt, not opt-19")
        return 0
    if args.legacy:
        conversion = from_legacy(args.legacy)
        print(conversion.pipeline.format())
        for flag, reason in conversion.unconverted.items():
            warning(f"{flag}: not converted: {reason}")
        for flag, reason in conversion.flagged.items():
            note(f"{flag}: converted, but outside the search vocabulary: {reason}")
        return 1 if conversion.unconverted else 0
    if args.excluded:
        for name, reason in sorted(vocab.excluded.items()):
            print(f"{name:28} {reason}")
        return 0
    for p in vocab.passes:
        marker = "Oz" if p in vocab.oz_passes else ""
        print(f"{p.name:44} {p.level:9} {marker}")
    for name, description in vocab.steps.items():
        print(f"{name:44} {'module':9} llmc  {description}")
    print(
        f"{len(vocab.passes)} passes (LLVM {vocab.llvm_version}) and {len(vocab.steps)} "
        "llmcompiler step (llmc: not an LLVM pass; opt-19 cannot run it); "
        f"{len(vocab.excluded)} excluded, see --excluded",
        file=sys.stderr,
    )
    return 0
