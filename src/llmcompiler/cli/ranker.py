"""``llmc ranker``: build the built-in flag-tuning model (collect a gain matrix, fit)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from llmcompiler.cli import args as common
from llmcompiler.cli.report import progress, status
from llmcompiler.engine import Evaluator
from llmcompiler.errors import InputError
from llmcompiler.search.coreset import load_coreset


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ranker`` with its actions ``collect``, ``fit`` and ``show``."""
    p = subparsers.add_parser(
        "ranker", help="build the built-in flag-tuning model (gain matrix, fit)"
    )
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("collect", help="measure every pool list on every training program")
    common.add_inputs(c, "PROGRAM", ".c .ll .bc training programs")
    c.add_argument("-o", "--output", required=True, metavar="MATRIX.npz")
    c.add_argument(
        "--lists",
        metavar="JSON",
        action="append",
        help="coreset file with the pool (default: shipped); repeat to pool several, "
        "each list once, in order",
    )
    common.add_objective(c)
    common.add_jobs(c)
    common.add_cache(c, opt_in_help="evaluation cache (makes a rerun resume)")
    common.add_timeout(c, 10.0)
    c.set_defaults(run=run_collect)
    f = sub.add_parser("fit", help="fit the ranker on a gain matrix (leave-one-out search)")
    f.add_argument("matrix", metavar="MATRIX.npz")
    f.add_argument("-o", "--output", required=True, metavar="DIR")
    f.add_argument(
        "-k", type=common.positive_int, default=5, help="proposals the model is tuned for"
    )
    f.add_argument("--note", default="", help="provenance note stored with the model")
    f.add_argument(
        "--groups",
        metavar="FILE",
        help="lines 'PROGRAM<TAB>PROJECT' (benchmarks/real_code.py's module lists): "
        "cross-validate leaving out every program of the same project",
    )
    f.set_defaults(run=run_fit)
    s = sub.add_parser("show", help="summary of a ranker model")
    s.add_argument("model", nargs="?", metavar="DIR", help="default: the built-in model")
    s.set_defaults(run=run_show)


def run_collect(args: argparse.Namespace) -> int:
    """Measure every pool list on every program; save the gain matrix; print a summary.

    Returns 0, or 1 when some file could not be loaded (each reported on stderr).

    Raises:
        InputError: the pool of lists is empty.
        LLMCError: the pool cannot be read.
    """
    from llmcompiler.model import ranker

    files = args.lists or [None]
    lists = list(dict.fromkeys(p for f in files for p in load_coreset(f).pipelines))
    if not lists:
        raise InputError("the pool of pass lists is empty")
    jobs = common.job_count(args)
    inputs = common.Inputs(args, jobs)
    programs = list(inputs)
    cache = common.open_cache(args.cache)
    start = time.monotonic()
    with progress(None, len(programs), "collecting") as bar:

        def tick(_done: int, message: str) -> None:
            bar.update(1)
            if "skipped" in message:
                status(message)

        try:
            with Evaluator(jobs=jobs, cache=cache, timeout=args.timeout * 3) as ev:
                matrix = ranker.collect(
                    ev, programs, lists, tick, timeout=args.timeout, metric=args.objective
                )
        finally:
            if cache is not None:
                cache.close()
    matrix.save(args.output)
    print(
        f"{args.output}: {len(matrix.names)} programs x {len(lists)} lists "
        f"({inputs.failed} files failed to load) in {time.monotonic() - start:.0f} s"
    )
    return 1 if inputs.failed else 0


def run_fit(args: argparse.Namespace) -> int:
    """Fit the ranker on a gain matrix, save it, print its leave-one-out score; returns 0.

    Raises:
        InputError: no such gain matrix.
    """
    from llmcompiler.model import ranker

    path = Path(args.matrix)
    if not path.is_file():
        raise InputError(f"{path}: no such gain matrix")
    matrix = ranker.GainMatrix.load(path)
    groups = _groups(args.groups, matrix.names) if args.groups else None
    model, table = ranker.fit(matrix, k=args.k, groups=groups)
    model.meta = {
        "training": {
            "matrix": str(path),
            "objective": matrix.metric,
            "programs": len(matrix.names),
            "lists": len(matrix.lists),
            "note": args.note,
        },
        "cross_validation": {
            "k": args.k,
            "left_out": "each program's project" if groups else "each program",
            **table["best"],
        },
    }
    model.save(args.output)
    best = table["best"]
    print(
        f"{args.output}: {model.config} leave-one-{'project' if groups else 'program'}-out"
        f" at k={args.k}: model "
        f"{best['model_pct']:.2f} %, pool order {best['pool_order_pct']:.2f} %, "
        f"oracle {best['oracle_pct']:.2f} % mean gain over -Oz"
    )
    return 0


def _groups(path: str, names: list[str]) -> list[str]:
    """The project of each program of a gain matrix, from ``path``'s lines
    ``PROGRAM<TAB>PROJECT[<TAB>...]``; a program the file does not name is a project of
    its own.

    Raises:
        InputError: the file cannot be read, or names none of the programs.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise InputError(f"{path}: cannot read groups: {err.strerror}") from None
    project = {}
    for line in lines:
        fields = line.split("\t")
        if len(fields) >= 2:
            project[fields[0]] = fields[1]
    if not any(n in project for n in names):
        raise InputError(f"{path}: names none of the {len(names)} programs of the matrix")
    return [project.get(n, n) for n in names]


def run_show(args: argparse.Namespace) -> int:
    """Print a summary of a ranker model (default: the built-in one); returns 0."""
    from llmcompiler.model import ranker
    from llmcompiler.model.builtin import builtin_path

    directory = Path(args.model) if args.model else builtin_path()
    meta = json.loads((directory / ranker.META_FILE).read_text())
    model = ranker.Ranker.load(directory)
    print(f"model: {directory}")
    print(f"kind: {meta['kind']}; config: {meta['config']}")
    print(f"training programs: {len(model.vectors)}; pool lists: {len(model.lists)}")
    print(json.dumps({k: meta[k] for k in ("training", "cross_validation") if k in meta}))
    return 0
