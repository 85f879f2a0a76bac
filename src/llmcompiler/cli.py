"""The ``llmc`` command: a thin layer over the library.

Results go to stdout, progress and errors to stderr. ``main(argv)`` returns
the exit code: 0 success, 1 some input failed, 2 usage error, 3 LLVM missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from llmcompiler import __version__
from llmcompiler.errors import LLMCError
from llmcompiler.evaluate import Evaluator, Objective, ResultCache, Task, default_jobs
from llmcompiler.evaluate.result import CRASH, INVALID_PIPELINE, TIMEOUT, VERIFY_FAILED
from llmcompiler.program import load_programs

OZ = "default<Oz>"
_OUTPUT_KINDS = {".ll": "ir", ".bc": "bitcode", ".o": "object", ".s": "asm"}


def _error(message: str) -> None:
    print(f"llmc: error: {message}", file=sys.stderr)


def _progress(iterable, total: int, desc: str):
    """Wrap an iterator in a progress bar on stderr when it is a terminal."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, disable=None, leave=False)


def _default_cache() -> str | None:
    if os.environ.get("LLMC_CACHE") is not None:
        return os.environ["LLMC_CACHE"] or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return os.path.join(base, "llmcompiler", "results.sqlite")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help=".c .cc .cpp .ll or .bc files")
    p.add_argument(
        "-I",
        dest="include",
        action="append",
        default=[],
        metavar="DIR",
        help="include directory for C/C++ sources",
    )
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="preprocessor definition for C/C++ sources",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per evaluation")
    p.add_argument(
        "--cache",
        default=_default_cache(),
        metavar="PATH",
        help="SQLite results cache (default: $LLMC_CACHE or ~/.cache/llmcompiler/results.sqlite)",
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")


def _add_fast_size(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fast-size",
        action="store_true",
        help="measure size with the in-process emitter instead of llc-19 (faster; "
        "may differ from llc around libcalls such as sqrt)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmc", description="Optimize code size with language models and the real LLVM."
    )
    parser.add_argument("--version", action="version", version=f"llmc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    size = sub.add_parser("size", help="instruction count and binary size, as given and at -Oz")
    _add_common(size)
    _add_fast_size(size)

    opt = sub.add_parser("opt", help="apply a pass pipeline and measure the result")
    _add_common(opt)
    _add_fast_size(opt)
    opt.add_argument(
        "-p",
        "--passes",
        required=True,
        metavar="PIPELINE",
        help="new pass manager pipeline, as for opt -passes=",
    )
    opt.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the result: .ll (IR), .bc (bitcode), .o (object), .s (assembly)",
    )

    optimize = sub.add_parser("optimize", help="find pass lists that beat -Oz")
    _add_common(optimize)
    from llmcompiler.cli_optimize import add_arguments

    add_arguments(optimize)

    from llmcompiler.cli_autotune import add_autotune_arguments, add_coreset_arguments

    add_autotune_arguments(sub.add_parser("autotune", help="tune a corpus into a database"))
    add_coreset_arguments(sub.add_parser("coreset", help="build or show a coreset of pass lists"))

    from llmcompiler import cli_corpus, cli_dataset, cli_inspect, cli_narrow

    cli_corpus.add_arguments(
        sub.add_parser("corpus", help="compile program sources into a corpus of IR modules")
    )
    cli_dataset.add_arguments(
        sub.add_parser("dataset", help="build task datasets from a corpus, print dataset cards")
    )

    cli_inspect.add_arguments(
        sub.add_parser("inspect", help="SSA/CFG facts per function, before and after passes")
    )
    cli_narrow.add_arguments(
        sub.add_parser("narrow", help="integer operations that fit a narrower type, with proofs")
    )

    from llmcompiler import cli_ranker

    cli_ranker.add_arguments(
        sub.add_parser("ranker", help="build the built-in flag-tuning model (gain matrix, fit)")
    )
    from llmcompiler import cli_eval, cli_tasks, cli_train

    cli_tasks.add_disasm_arguments(
        sub.add_parser("disasm", help="lift x86-64 assembly to LLVM IR with a model, verified")
    )
    cli_tasks.add_emulate_arguments(
        sub.add_parser("emulate", help="a model's predicted IR and size beside the compiler's")
    )
    cli_train.add_arguments(
        sub.add_parser("train", help="fine-tune a causal LM on a dataset (completion-only loss)")
    )
    cli_eval.add_arguments(
        sub.add_parser("eval", help="evaluate a method or model on a task: JSON + HTML report")
    )
    passes = sub.add_parser("passes", help="the pass vocabulary (LLVM 19), pipeline checks")
    passes.add_argument("--excluded", action="store_true", help="list excluded passes and why")
    passes.add_argument("--check", metavar="PIPELINE", help="parse and validate a pipeline")
    passes.add_argument(
        "--legacy",
        metavar="FLAGS",
        help="convert legacy flags such as '-mem2reg -licm' to a pipeline",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "passes":
            from llmcompiler.cli_passes import run_passes_command

            return run_passes_command(args)
        if args.command in ("autotune", "coreset"):
            from llmcompiler import cli_autotune

            if args.command == "coreset":
                return cli_autotune.run_coreset(args)
            return cli_autotune.run_autotune(args, _progress)
        if args.command == "corpus":
            from llmcompiler.cli_corpus import run_corpus

            return run_corpus(args, _progress)
        if args.command == "dataset":
            from llmcompiler.cli_dataset import run_dataset

            return run_dataset(args, _progress)
        if args.command == "inspect":
            from llmcompiler.cli_inspect import run_inspect

            return run_inspect(args)
        if args.command == "narrow":
            from llmcompiler.cli_narrow import run_narrow

            return run_narrow(args)
        if args.command == "ranker":
            from llmcompiler.cli_ranker import run_ranker

            return run_ranker(args, _progress)
        if args.command in ("disasm", "emulate"):
            from llmcompiler import cli_tasks

            if args.command == "disasm":
                return cli_tasks.run_disasm(args)
            return cli_tasks.run_emulate(args)
        if args.command == "train":
            from llmcompiler.cli_train import run_train

            return run_train(args)
        if args.command == "eval":
            from llmcompiler.cli_eval import run_eval

            return run_eval(args, _progress)
        if args.command == "optimize":
            from llmcompiler.cli_optimize import run_optimize

            return run_optimize(args, None if args.no_cache else args.cache, _progress)
        return _run_measure(args)
    except LLMCError as err:
        _error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `llmc coreset show | head`: the reader left
        sys.stderr.close()
        return 0


def _run_measure(args) -> int:
    if args.command == "opt" and args.output and len(args.files) > 1:
        _error("-o takes one input file")
        return 2
    output = None
    if args.command == "opt" and args.output:
        output = _OUTPUT_KINDS.get(Path(args.output).suffix)
        if output is None:
            _error(f"{args.output}: output must end in {', '.join(_OUTPUT_KINDS)}")
            return 2
    jobs = args.jobs or default_jobs()
    objective = Objective(size_path="fast" if args.fast_size else "llc")
    failed = 0
    programs = []
    loading = load_programs(args.files, args.include, args.define, jobs=jobs)
    for _path, program in _progress(loading, len(args.files), "loading"):
        if isinstance(program, LLMCError):
            _error(str(program))
            failed += 1
        else:
            programs.append(program)
    pipelines = ["", OZ] if args.command == "size" else [args.passes]
    tasks = [Task(p, pl, objective, output) for p in programs for pl in pipelines]
    results = [None] * len(tasks)
    cache = None
    if args.cache and not args.no_cache and tasks:
        os.makedirs(os.path.dirname(os.path.abspath(args.cache)), exist_ok=True)
        cache = ResultCache(args.cache)
    with Evaluator(jobs=min(jobs, max(1, len(tasks))), timeout=args.timeout, cache=cache) as ev:
        for index, result in _progress(ev.run(tasks), len(tasks), "evaluating"):
            results[index] = result
    rows = []
    for i, program in enumerate(programs):
        mine = results[i * len(pipelines) : (i + 1) * len(pipelines)]
        bad = next((r for r in mine if not r.ok), None)
        if bad is not None:
            _error(f"{program.name}: {_describe_failure(bad)}")
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
                Path(args.output).write_bytes(mine[0].output)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(args.command, [r for r in rows if "error" not in r])
    if cache is not None:
        cache.close()
    return 1 if failed else 0


def _describe_failure(result) -> str:
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
    table = [tuple(map(str, header))] + [tuple(map(str, ln)) for ln in lines]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        print("  ".join(cells))
    if command == "opt":
        print(f"pipeline: {rows[0]['pipeline']}")


if __name__ == "__main__":
    sys.exit(main())
