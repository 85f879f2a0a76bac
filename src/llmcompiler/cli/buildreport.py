"""``llmc report``: what ``llmc cc`` did for a build, next to a plain clang -Oz build
(:mod:`llmcompiler.driver.report`)."""

from __future__ import annotations

import argparse
import json

from llmcompiler.cli import args as common
from llmcompiler.cli.report import printable
from llmcompiler.errors import UsageError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report``."""
    p = subparsers.add_parser(
        "report", help="sizes and outcomes of an llmc cc build, against clang -Oz"
    )
    p.add_argument(
        "pairs",
        nargs="*",
        metavar="BINARY=BASELINE",
        help="a binary of the llmc cc build and the same binary built with clang -Oz",
    )
    p.add_argument(
        "--db",
        metavar="SQLITE",
        help="the llmc cc tuning database (default: $LLMC_CC_DB, else "
        "~/.cache/llmcompiler/tuning.sqlite)",
    )
    p.add_argument(
        "--build",
        metavar="DIR",
        help="the llmc cc build: its executables and shared libraries are compared with "
        "--baseline's, and only compiles whose object is under it are reported",
    )
    p.add_argument("--baseline", metavar="DIR", help="the same build made with clang -Oz")
    common.add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the report (a table, or JSON); returns 0.

    Raises:
        UsageError: --baseline without --build, or a pair without ``=``.
        InputError: no database, a folder or binary that cannot be read.
    """
    from llmcompiler.driver.db import database_path
    from llmcompiler.driver.report import linked_pairs, report

    pairs = []
    for text in args.pairs:
        binary, sep, baseline = text.partition("=")
        if not (sep and binary and baseline):
            raise UsageError(f"{text!r}: expected BINARY=BASELINE")
        pairs.append((binary, baseline))
    if args.baseline and not args.build:
        raise UsageError("--baseline needs --build (the llmc cc build to compare with it)")
    if args.baseline:
        pairs = linked_pairs(args.build, args.baseline) + pairs
    result = report(args.db or database_path(), pairs, args.build)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0
    _print(result)
    return 0


def _print(result) -> None:
    """The report as tables: binaries, objects, then the totals line. A difference is
    llmc's size minus clang -Oz's (negative: llmc's is smaller)."""
    if result.binaries:
        rows = [(b.binary, b.baseline_size, b.size) for b in result.binaries]
        if len(rows) > 1:
            rows.append(("all", sum(r[1] for r in rows), sum(r[2] for r in rows)))
        _table("binary", rows, [""] * len(rows))
    if result.objects:
        known = [o for o in result.objects if o.difference is not None]
        rows = [(o.output, o.oz_size, o.size) for o in result.objects]
        notes = [
            f"  {o.outcome}" + ("  (whole program)" if o.kind == "link" else "")
            for o in result.objects
        ]
        if len(known) > 1:
            rows.append(("all", sum(o.oz_size for o in known), sum(o.size for o in known)))
            notes.append("")
        _table("object", rows, notes)
    t = result.totals
    counts = ", ".join(f"{t[k]} {k}" for k in ("hit", "miss", "large", "fallback", "error"))
    each = f", {t['seconds'] / t['compiles']:.2f} s each" if t["compiles"] else ""
    print(f"{t['compiles']} compiles: {counts}; {t['seconds']:.1f} s in llmc{each}")


def _table(what: str, rows: list[tuple], notes: list[str]) -> None:
    """Rows of (name, clang -Oz size, llmc size), each with its difference and note."""
    width = max(len(what), *(len(printable(r[0])) for r in rows))
    print(f"{what:{width}}  {'clang -Oz':>10}  {'llmc':>10}  {'difference':>19}")
    for (name, oz, size), note in zip(rows, notes):
        diff = "-"
        if oz is not None and size is not None:
            pct = f" ({100.0 * (size - oz) / oz:+.2f}%)" if oz else ""
            diff = f"{size - oz:+d}{pct}"
        oz, size = ("-" if v is None else v for v in (oz, size))
        print(f"{printable(name):{width}}  {oz:>10}  {size:>10}  {diff:>19}{note}")
    print()
