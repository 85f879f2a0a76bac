"""``llmc targets``: per target, its object format and relocation model, the coreset
``llmc optimize`` uses for it, whether C headers are installed for it (and the Debian
package when not), and whether its programs can run here for validation."""

from __future__ import annotations

import argparse
import json

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, printable
from llmcompiler.errors import EvaluationError
from llmcompiler.llvm import TargetMachine
from llmcompiler.llvm.runtime import why_not
from llmcompiler.llvm.sysroots import headers
from llmcompiler.llvm.target import target
from llmcompiler.search.coreset import coreset_for

#: The triples ``llmc targets`` lists by default: one per kind the project supports.
TRIPLES = (
    "x86_64-linux-gnu",
    "x86_64-apple-macosx",
    "x86_64-windows-msvc",
    "i386-linux-gnu",
    "aarch64-linux-gnu",
    "armv7-linux-gnueabihf",
    "thumbv7em-none-eabi",
    "riscv32-unknown-elf",
    "riscv64-linux-gnu",
    "wasm32-wasi",
    "powerpc64le-linux-gnu",
    "s390x-linux-gnu",
    "mips-linux-gnu",
)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``targets``."""
    p = subparsers.add_parser(
        "targets", help="object format, C headers and validation of each target"
    )
    p.add_argument(
        "triples",
        nargs="*",
        metavar="TRIPLE",
        help="the targets to show (default: the 13 the project is tested on)",
    )
    common.add_json(p)
    p.set_defaults(run=run)


def describe(triple: str) -> dict:
    """What ``llmc targets`` says about one triple: ``triple``, ``object_format``,
    ``relocation_model``, ``headers`` (``installed``, ``package``, ``include``,
    ``flags``), ``runs`` with ``why_not`` ('' when its programs run here) and ``coreset``
    (the family whose shipped coreset ``llmc optimize`` tries first for it).

    Raises:
        EvaluationError: LLVM 19 has no back end for the triple.
    """
    with TargetMachine(triple):  # raises for a triple no back end takes
        pass
    t = target(triple)
    found = headers(triple)
    reason = why_not(triple)
    return {
        "triple": triple,
        "object_format": t.object_format,
        "relocation_model": t.relocation_model(),
        "headers": {
            "installed": found.installed,
            "package": found.package,
            "include": found.include,
            "flags": list(found.flags),
        },
        "runs": not reason,
        "why_not": reason,
        "coreset": coreset_for(triple).provenance["target"],
    }


def run(args: argparse.Namespace) -> int:
    """Print a table (or JSON) of the given triples, the default 13 when none.

    Returns 0, or 1 when some triple names no target LLVM 19 has (reported on stderr).
    """
    rows, failed = [], 0
    for triple in args.triples or TRIPLES:
        try:
            rows.append(describe(triple))
        except EvaluationError as err:
            error(str(err))
            failed += 1
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)
    return 1 if failed else 0


def _headers_cell(row: dict) -> str:
    found = row["headers"]
    if found["package"] is None:
        return "none in Debian"
    if not found["installed"]:
        return f"missing: apt-get install {found['package']}"
    return f"yes ({found['package']})"


def _runs_cell(row: dict) -> str:
    if row["runs"]:
        return "yes"
    reason = row["why_not"].removeprefix(f"cannot run {row['triple']} here ")
    return f"no: {reason.removeprefix('(').removesuffix(')')}"


def _print_table(rows: list[dict]) -> None:
    if not rows:
        return
    header = ("triple", "format", "relocation", "coreset", "C headers", "runs here")
    table = [header] + [
        (
            printable(r["triple"]),
            r["object_format"],
            r["relocation_model"],
            r["coreset"],
            _headers_cell(r),
            _runs_cell(r),
        )
        for r in rows
    ]
    widths = [max(len(line[c]) for line in table) for c in range(len(header) - 1)]
    for line in table:
        print("  ".join([v.ljust(w) for v, w in zip(line, widths)] + [line[-1]]))
