"""``llmc disasm`` and ``llmc emulate``: a text model's answer, checked by the compiler.

Both need a text model (``--model PATH`` to a Hugging Face checkpoint); the default,
``builtin``, proposes pass lists only, and loading it for these commands fails with
:func:`llmcompiler.model.loading.load_text_model`'s message.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, status
from llmcompiler.errors import InputError
from llmcompiler.model import loading
from llmcompiler.model.base import GenerationConfig


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``disasm`` and ``emulate``."""
    disasm = subparsers.add_parser(
        "disasm", help="lift x86-64 assembly to LLVM IR with a model, verified"
    )
    disasm.add_argument(
        "file", metavar="FILE.s", help="x86-64 assembly (AT&T syntax, as llc-19 prints)"
    )
    disasm.add_argument(
        "--candidates",
        "-k",
        type=int,
        default=1,
        metavar="K",
        help="answers asked of the model (default 1: greedy; more: beam search)",
    )
    disasm.add_argument("-o", "--output", metavar="OUT.ll", help="write the best candidate's IR")
    _add_model(disasm)
    disasm.set_defaults(run=run_disasm)

    emulate = subparsers.add_parser(
        "emulate", help="a model's predicted IR and size beside the compiler's"
    )
    emulate.add_argument("file", metavar="FILE", help=".c, .ll or .bc program")
    emulate.add_argument(
        "-p",
        "--passes",
        required=True,
        metavar="PIPELINE",
        help="the pass list whose result the model predicts, as for opt -passes=",
    )
    common.add_preprocessor(emulate)
    common.add_target(emulate)
    _add_model(emulate)
    emulate.set_defaults(run=run_emulate)


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=loading.BUILTIN,
        metavar="PATH",
        help="text model: a Hugging Face checkpoint directory (the default, builtin, "
        "proposes pass lists only and cannot do this task)",
    )
    p.add_argument("--device", default=None, help="where the model runs: cpu or cuda")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=GenerationConfig.max_new_tokens,
        metavar="N",
        help=f"longest answer in tokens (default: {GenerationConfig.max_new_tokens})",
    )
    common.add_json(p)


def _read_text(path: str) -> str:
    """The file's text.

    Raises:
        InputError: missing, unreadable, empty or not UTF-8.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file" if not p.exists() else f"{path}: not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: not UTF-8 text (give assembly text, not an object file)"
        ) from None
    except OSError as err:
        raise InputError(f"{path}: {err.strerror}") from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    return text


def run_disasm(args: argparse.Namespace) -> int:
    """Lift the assembly with the model, check every candidate by round trip, print them.

    Returns 0 when a candidate compiled back (its IR written with -o), 1 when none did.

    Raises:
        InputError: bad file or option.
        ModelError: the model cannot be loaded.
    """
    from llmcompiler.tasks.disassembly import disassemble

    if args.candidates < 1:
        raise InputError("--candidates must be at least 1")
    asm = _read_text(args.file)
    model = loading.load_text_model(args.model, args.device)
    try:
        config = GenerationConfig(max_new_tokens=args.max_new_tokens)
        result = disassemble(model, asm, args.candidates, config)
        name = model.name
    finally:
        model.close()
    best = result.best_candidate
    if args.json:
        print(
            json.dumps({"file": args.file, "model": name, **result.to_json(texts=True)}, indent=2)
        )
    else:
        rows = [("#", "round trip", "BLEU", "exact", "reason")]
        for c in result.candidates:
            bleu = f"{c.bleu:.4f}" if c.round_trip else "-"
            exact = ("yes" if c.exact_match else "no") if c.round_trip else "-"
            mark = "*" if best is not None and c.index == best.index else ""
            yes = "yes" if c.round_trip else "no"
            rows.append((f"{c.index}{mark}", yes, bleu, exact, c.error or ""))
        _print_rows(rows)
        if best is not None:
            print(f"best: candidate {best.index} (BLEU {best.bleu:.4f} against the input)")
    if best is None:
        error("no candidate compiled back to assembly")
        return 1
    if args.output:
        ir = best.ir if best.ir.endswith("\n") else best.ir + "\n"
        Path(args.output).write_text(ir)
        status(f"wrote {args.output} (candidate {best.index})")
    return 0


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip())


def run_emulate(args: argparse.Namespace) -> int:
    """The model's predicted IR and numbers beside opt-19's and llc-19's; returns 0.

    Raises:
        PipelineError: invalid pass list, or opt-19 rejected it.
        InputError: bad file.
        ModelError: the model cannot be loaded.
    """
    from llmcompiler.program import load_program
    from llmcompiler.tasks.emulation import ask, check_pipeline, reference

    pipeline = check_pipeline(args.passes)
    flags = common.compile_flags(args)
    program = load_program(args.file, args.include, args.define, flags)
    ref = reference(program, pipeline)  # the compiler first: a bad list fails before loading
    model = loading.load_text_model(args.model, args.device)
    try:
        result = ask(model, ref, GenerationConfig(max_new_tokens=args.max_new_tokens))
        name = model.name
    finally:
        model.close()
    if args.json:
        data = {"file": args.file, "pipeline": ref.pipeline, "model": name}
        print(json.dumps({**data, **result.to_json(texts=True)}, indent=2))
        return 0

    def cell(value) -> str:
        return "-" if value is None else str(value)

    real = result.real
    _print_rows(
        [
            ("", "predicted", "real", ""),
            ("instructions", cell(result.predicted_instcount), str(real.instcount), ""),
            ("binary size", cell(result.predicted_size), str(real.size), ""),
        ]
    )
    if result.size_error is not None:
        pct = result.size_error_pct
        print(f"size error: {result.size_error} bytes ({'-' if pct is None else f'{pct:.2f} %'})")
    if result.error:
        print(f"answer: {result.error}")
    else:
        print(f"exact match: {'yes' if result.exact_match else 'no'}")
        print(f"BLEU: {result.bleu:.4f}")
        if result.compiles:
            print(f"predicted IR compiles: yes ({result.compiled_size} bytes with llc-19)")
        else:
            print(f"predicted IR compiles: no ({result.compile_error})")
    print(f"pipeline: {ref.pipeline}")
    return 0
