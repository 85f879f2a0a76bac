"""``llmc dataset build`` and ``llmc dataset info``: task datasets from a corpus, and their card."""

from __future__ import annotations

import argparse
import sys

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, progress, status
from llmcompiler.datasets.build import TASKS, DatasetBuild, DatasetConfig, parse_splits
from llmcompiler.datasets.emulation import EmulationConfig
from llmcompiler.datasets.flag_tuning import FlagTuningConfig
from llmcompiler.errors import InputError, UsageError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dataset`` with its actions ``build`` and ``info``."""
    p = subparsers.add_parser(
        "dataset", help="build task datasets from a corpus, print dataset cards"
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="build a task dataset from a corpus directory")
    build.add_argument("--task", required=True, choices=TASKS)
    build.add_argument("--corpus", required=True, metavar="DIR", help="corpus directory")
    build.add_argument("-o", "--output", required=True, metavar="OUT", help="dataset directory")
    build.add_argument(
        "--max-tokens", type=int, metavar="N", help="drop records longer than N tokens"
    )
    build.add_argument(
        "--max-modules",
        type=int,
        metavar="N",
        help="a seeded sample of at most N corpus modules (default: all)",
    )
    build.add_argument(
        "--split",
        default="train=0.9,val=0.05,test=0.05",
        metavar="NAME=FRAC,...",
        help="splits by program (default: train=0.9,val=0.05,test=0.05)",
    )
    common.add_seed(build, "pass lists and splits (default 0)")
    build.add_argument(
        "--tokenizer",
        metavar="NAME|DIR",
        help="Hugging Face tokenizer for token counts (default: a local estimate)",
    )
    build.add_argument(
        "--lists-per-module", type=int, default=2, metavar="K", help="emulation: pass lists"
    )
    build.add_argument(
        "--variants", default="ir,asm", help="emulation: answers to make (default: ir,asm)"
    )
    build.add_argument(
        "--pass-lists",
        metavar="FILE",
        help="emulation: these lists for every module instead of random ones "
        "(a coreset .json, or one list per line)",
    )
    build.add_argument(
        "--tune-db", metavar="SQLITE", help="flag tuning: labels from `llmc autotune --db`"
    )
    common.add_budget(
        build,
        None,
        "flag tuning: search each module",
        "flag tuning: search each module for N evaluations (reproducible)",
    )
    common.add_timeout(build, 60.0)
    build.add_argument("--parquet", action="store_true", help="also write NAME.parquet files")
    common.add_jobs(build, "local processes (default: cores)")
    common.add_ray(build)
    build.add_argument("--overwrite", action="store_true", help="replace a dataset in OUT")
    build.set_defaults(run=run_build)
    info = sub.add_parser("info", help="print a dataset card")
    info.add_argument("directory", metavar="DIR")
    info.add_argument("--plot", metavar="PNG", help="also plot the distributions to a PNG")
    info.set_defaults(run=run_info)


def run_info(args: argparse.Namespace) -> int:
    """Print the dataset card (and plot it with --plot); returns 0.

    Raises:
        LLMCError: the directory is not a dataset.
    """
    from llmcompiler.datasets.card import plot_card, read_stats, render_card

    stats = read_stats(args.directory)
    print(render_card(stats))
    if args.plot:
        plot_card(stats, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def run_build(args: argparse.Namespace) -> int:
    """Build a task dataset from a corpus; print its counts on stderr.

    Returns 0, or 1 when some module failed (each reported on stderr).

    Raises:
        UsageError: bad --split, or options the task cannot use or lacks.
        LLMCError: the corpus, the labels or the output directory cannot be used.
    """
    from llmcompiler.datasets.tokens import make_tokenizer

    try:
        flag_tuning = None
        if args.task == "flag-tuning":
            flag_tuning = FlagTuningConfig(args.tune_db, args.budget, args.evaluations)
        config = DatasetConfig(
            task=args.task,
            seed=args.seed,
            splits=parse_splits(args.split),
            max_tokens=args.max_tokens,
            max_modules=args.max_modules,
            timeout=args.timeout,
            emulation=EmulationConfig(
                lists_per_module=args.lists_per_module,
                variants=tuple(v.strip() for v in args.variants.split(",")),
                lists=_read_lists(args.pass_lists) if args.pass_lists else (),
            ),
            flag_tuning=flag_tuning,
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    build = DatasetBuild(
        args.corpus,
        args.output,
        config,
        tokenizer=make_tokenizer(args.tokenizer),
        processes=common.job_count(args),
        ray=args.ray,
        parquet=args.parquet,
        overwrite=args.overwrite,
    )
    if build.unlabeled:
        status(f"{build.unlabeled} modules have no label in {args.tune_db}; skipped")
    for outcome in progress(build.run(), build.total, "building"):
        if outcome.error is not None:
            message = outcome.error
            if not message.startswith(outcome.program):
                message = f"{outcome.program}: {message}"
            error(message)
    m = build.manifest
    counts = ", ".join(f"{name} {c['records']}" for name, c in m["counts"].items())
    status(
        f"{m['records']} records ({counts}) written to {args.output}; "
        f"{m['dropped']['total']} dropped over the token budget, {m['failed']} modules failed"
    )
    return 1 if m["failed"] else 0


def _read_lists(path: str) -> tuple[str, ...]:
    """Pass lists from a coreset JSON file or a text file with one list per line.

    Raises:
        InputError: the file cannot be read.
    """
    if path.endswith(".json"):
        from llmcompiler.search.coreset import load_coreset

        return tuple(load_coreset(path).pipelines)
    try:
        with open(path) as f:
            return tuple(line.strip() for line in f if line.strip())
    except OSError as err:
        raise InputError(f"{path}: {err.strerror}") from None
