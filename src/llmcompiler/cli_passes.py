"""``llmc passes``: show the LLVM 19 pass vocabulary, check pipelines, convert legacy flags."""

from __future__ import annotations

import sys

from llmcompiler.passes import from_legacy, load_vocabulary, parse_pipeline, steps_in


def run_passes_command(args) -> int:
    """List, check or convert; returns the exit code. Raises PipelineError for a bad --check."""
    vocab = load_vocabulary()
    if args.check:
        pipeline = parse_pipeline(args.check, vocab)
        print(pipeline.format())
        print(
            f"ok: {len(pipeline)} passes, all in the LLVM {vocab.llvm_version} vocabulary",
            file=sys.stderr,
        )
        for step in dict.fromkeys(steps_in(args.check)):
            print(
                f"llmc: note: {step} is llmcompiler's own step: run this list with llmc opt, "
                "not opt-19",
                file=sys.stderr,
            )
        return 0
    if args.legacy:
        conversion = from_legacy(args.legacy)
        print(conversion.pipeline.format())
        for flag, reason in conversion.unconverted.items():
            print(f"llmc: warning: {flag}: not converted: {reason}", file=sys.stderr)
        for flag, reason in conversion.flagged.items():
            print(
                f"llmc: note: {flag}: converted, but outside the search vocabulary: {reason}",
                file=sys.stderr,
            )
        return 1 if conversion.unconverted else 0
    if args.excluded:
        for name, reason in sorted(vocab.excluded.items()):
            print(f"{name:28} {reason}")
        return 0
    for p in vocab.passes:
        marker = "Oz" if p in vocab.oz_passes else ""
        print(f"{p.name:44} {p.level:9} {marker}")
    for name, note in vocab.steps.items():
        print(f"{name:44} {'module':9} llmc  {note}")
    print(
        f"{len(vocab.passes)} passes (LLVM {vocab.llvm_version}) and {len(vocab.steps)} "
        "llmcompiler step (llmc: not an LLVM pass; opt-19 cannot run it); "
        f"{len(vocab.excluded)} excluded, see --excluded",
        file=sys.stderr,
    )
    return 0
