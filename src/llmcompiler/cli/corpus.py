"""``llmc corpus build`` and ``llmc corpus info``: compile program sources into a corpus
directory of IR modules with a manifest."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from llmcompiler.cli import args as common
from llmcompiler.cli.report import progress, status
from llmcompiler.corpus import store
from llmcompiler.corpus.build import CorpusConfig, build_corpus
from llmcompiler.errors import UsageError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``corpus``."""
    p = subparsers.add_parser("corpus", help="compile program sources into a corpus of IR modules")
    p.add_argument("action", choices=("build", "info"))
    p.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="SOURCE",
        help="a file or directory, gcc-torture[:execute|compile], csmith:N[:SEED], "
        "pypi:NAME[==VERSION] or npm:NAME[@VERSION] (repeat for several)",
    )
    p.add_argument("-o", "--output", metavar="DIR", help="corpus directory (build resumes it)")
    p.add_argument("dir", nargs="?", metavar="DIR", help="corpus directory (info)")
    common.add_jobs(p, "files compiled at once")
    common.add_ray(p, "compile as Ray tasks")
    p.add_argument(
        "--no-run-check",
        action="store_true",
        help="do not run programs with main to mark them runnable",
    )
    p.add_argument("--run-timeout", type=common.positive_float, default=5.0, metavar="SECONDS")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build (or resume) a corpus and print its counts, or print a corpus's info as JSON.

    Returns 0: a file that fails to compile is skipped, reported and counted.

    Raises:
        UsageError: build without --from and -o, or info without a directory.
        LLMCError: a source cannot be read, or the directory is not a corpus.
    """
    if args.action == "info":
        root = args.dir or args.output
        if not root:
            raise UsageError("corpus info needs DIR")
        store.read_manifest(root)  # raises a clear error for a non-corpus directory
        print(json.dumps(store.read_info(root), indent=2, sort_keys=True))
        return 0
    if not args.sources or not args.output:
        raise UsageError("corpus build needs --from SOURCE and -o DIR")
    config = CorpusConfig(
        jobs=common.job_count(args),
        check_runnable=not args.no_run_check,
        run_timeout=args.run_timeout,
    )
    counts: Counter[str] = Counter()
    with progress(None, None, "compiling") as bar:

        def set_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        for event in build_corpus(args.sources, args.output, config, args.ray, on_total=set_total):
            counts[event.kind] += 1
            if event.kind == "failed":
                status(f"skipped {event.item.id}: {_one_line(event.detail)}")
            bar.update(1)
    info = store.read_info(args.output)
    print(
        f"{sum(counts.values())} files: {counts['added']} added, {counts['duplicate']} "
        f"duplicates, {counts['failed']} failed, {counts['skipped']} done before; corpus "
        f"{args.output}: {info['counts']['modules']} modules "
        f"({', '.join(f'{k} {v}' for k, v in info['counts']['by_source'].items())}), "
        f"{info['counts']['runnable']} runnable",
        file=sys.stderr,
    )
    return 0


def _one_line(detail: str) -> str:
    """The cause of a failure on one line: a 'compilation failed:' header is joined with
    the diagnostic under it."""
    lines = [ln.strip() for ln in detail.splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else "failed"
