"""``llmc corpus build`` and ``llmc corpus info``: compile program sources into a corpus
directory of IR modules with a manifest."""

from __future__ import annotations

import json
import sys
from collections import Counter

from llmcompiler.corpus import store
from llmcompiler.corpus.build import CorpusConfig, build_corpus
from llmcompiler.evaluate import default_jobs


def add_arguments(p) -> None:
    p.add_argument("action", choices=("build", "info"))
    p.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="SOURCE",
        help="a file or directory, gcc-torture[:execute|compile], csmith:N[:SEED] or "
        "pypi:NAME[==VERSION] (repeat for several)",
    )
    p.add_argument("-o", "--output", metavar="DIR", help="corpus directory (build resumes it)")
    p.add_argument("dir", nargs="?", metavar="DIR", help="corpus directory (info)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="files compiled at once")
    p.add_argument("--ray", metavar="auto|ADDRESS|local", help="compile as Ray tasks")
    p.add_argument(
        "--no-run-check",
        action="store_true",
        help="do not run programs with main to mark them runnable",
    )
    p.add_argument("--run-timeout", type=float, default=5.0, metavar="SECONDS")


def run_corpus(args, progress) -> int:
    if args.action == "info":
        root = args.dir or args.output
        if not root:
            print("llmc: error: corpus info needs DIR", file=sys.stderr)
            return 2
        store.read_manifest(root)  # raises a clear error for a non-corpus directory
        print(json.dumps(store.read_info(root), indent=2, sort_keys=True))
        return 0
    if not args.sources or not args.output:
        print("llmc: error: corpus build needs --from SOURCE and -o DIR", file=sys.stderr)
        return 2
    config = CorpusConfig(
        jobs=args.jobs or default_jobs(),
        check_runnable=not args.no_run_check,
        run_timeout=args.run_timeout,
    )
    bar = progress(None, None, "compiling")
    events = build_corpus(
        args.sources, args.output, config, args.ray, on_total=lambda n: _set_total(bar, n)
    )
    counts: Counter[str] = Counter()
    for event in events:
        counts[event.kind] += 1
        if event.kind == "failed":
            print(f"llmc: skipped {event.item.id}: {_one_line(event.detail)}", file=sys.stderr)
        if hasattr(bar, "update"):
            bar.update(1)
    if hasattr(bar, "close"):
        bar.close()
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


def _set_total(bar, total: int) -> None:
    if hasattr(bar, "total"):
        bar.total = total
        bar.refresh()


def _one_line(detail: str) -> str:
    """The cause of a failure on one line: a 'compilation failed:' header is joined with
    the diagnostic under it."""
    lines = [ln.strip() for ln in detail.splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else "failed"
