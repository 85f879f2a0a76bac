"""``llmc ranker``: build the built-in flag-tuning model (collect a gain matrix, fit)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from llmcompiler.errors import InputError, LLMCError
from llmcompiler.evaluate import Evaluator, ResultCache, default_jobs
from llmcompiler.program import load_programs
from llmcompiler.search.coreset import load_coreset


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("collect", help="measure every pool list on every training program")
    c.add_argument("files", nargs="+", metavar="PROGRAM", help=".c .ll .bc training programs")
    c.add_argument("-o", "--output", required=True, metavar="MATRIX.npz")
    c.add_argument("--lists", metavar="JSON", help="coreset file with the pool (default: shipped)")
    c.add_argument("-I", dest="include", action="append", default=[], metavar="DIR")
    c.add_argument("--jobs", "-j", type=int, default=None)
    c.add_argument("--cache", metavar="SQLITE", help="evaluation cache (makes a rerun resume)")
    c.add_argument("--timeout", type=float, default=10.0, help="seconds per evaluation")
    f = sub.add_parser("fit", help="fit the ranker on a gain matrix (leave-one-out search)")
    f.add_argument("matrix", metavar="MATRIX.npz")
    f.add_argument("-o", "--output", required=True, metavar="DIR")
    f.add_argument("-k", type=int, default=5, help="proposals the model is tuned for")
    f.add_argument("--note", default="", help="provenance note stored with the model")
    s = sub.add_parser("show", help="summary of a ranker model")
    s.add_argument("model", nargs="?", metavar="DIR", help="default: the built-in model")


def run_ranker(args, progress) -> int:
    from llmcompiler.model import ranker

    if args.action == "collect":
        lists = load_coreset(args.lists).pipelines
        if not lists:
            raise InputError("the pool of pass lists is empty")
        jobs = args.jobs or default_jobs()
        programs, failed = [], 0
        for _path, program in load_programs(args.files, args.include, [], jobs):
            if isinstance(program, LLMCError):
                print(f"llmc: skipped: {program}", file=sys.stderr)
                failed += 1
            else:
                programs.append(program)
        cache = ResultCache(args.cache) if args.cache else None
        start = time.monotonic()
        bar = progress(range(len(programs)), len(programs), "collecting")
        ticks = iter(bar)

        def tick(_done: int, message: str) -> None:
            next(ticks, None)
            if "skipped" in message:
                print(f"llmc: {message}", file=sys.stderr)

        with Evaluator(jobs=jobs, cache=cache, timeout=args.timeout * 3) as ev:
            matrix = ranker.collect(ev, programs, lists, tick, timeout=args.timeout)
        next(ticks, None)
        matrix.save(args.output)
        print(
            f"{args.output}: {len(matrix.names)} programs x {len(lists)} lists "
            f"({failed} files failed to load) in {time.monotonic() - start:.0f} s"
        )
        return 1 if failed else 0
    if args.action == "fit":
        path = Path(args.matrix)
        if not path.is_file():
            raise InputError(f"{path}: no such gain matrix")
        matrix = ranker.GainMatrix.load(path)
        model, table = ranker.fit(matrix, k=args.k)
        model.meta = {
            "training": {
                "matrix": str(path),
                "programs": len(matrix.names),
                "lists": len(matrix.lists),
                "note": args.note,
            },
            "cross_validation": {"k": args.k, **table["best"]},
        }
        model.save(args.output)
        best = table["best"]
        print(
            f"{args.output}: {model.config} leave-one-out at k={args.k}: model "
            f"{best['model_pct']:.2f} %, pool order {best['pool_order_pct']:.2f} %, "
            f"oracle {best['oracle_pct']:.2f} % mean gain over -Oz"
        )
        return 0
    from llmcompiler.model.builtin import builtin_path

    directory = Path(args.model) if args.model else builtin_path()
    meta = json.loads((directory / ranker.META_FILE).read_text())
    model = ranker.Ranker.load(directory)
    print(f"model: {directory}")
    print(f"kind: {meta['kind']}; config: {meta['config']}")
    print(f"training programs: {len(model.vectors)}; pool lists: {len(model.lists)}")
    print(json.dumps({k: meta[k] for k in ("training", "cross_validation") if k in meta}))
    return 0
