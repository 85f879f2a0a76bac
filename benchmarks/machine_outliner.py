"""Is the machine outliner a code-generation choice worth offering on a target?

For each target, compiles C files with ``clang-19 -Oz`` three ways: the target's default,
``-mllvm -enable-machine-outliner=always`` and ``=never``, and prints the total binary
size (``text + data``, llvm-size-19) of each, how many files each way makes smaller than
the default, and how many outlined functions (``OUTLINED_FUNCTION_*`` symbols) the
default build holds. A target whose default already outlines at -Oz gives the same size
with ``always``: there is no choice left to offer its users there.

Usage: python benchmarks/machine_outliner.py FILE.c ... [--targets T1,T2]
       (e.g. the C files of the sources real_code.py fetched: SOURCES/pypi/*/...)
Files a target cannot compile (missing headers) are skipped for that target, and counted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llmcompiler.llvm.toolchain import llvm_size, tool  # noqa: E402
from targets import target_flags  # noqa: E402

WAYS = {"default": [], "always": ["always"], "never": ["never"]}
DEFAULT_TARGETS = "thumbv7em-none-eabi,riscv32-unknown-elf,aarch64-linux-gnu,x86_64-linux-gnu"


def build(source: str, flags: list[str], way: list[str], out: str) -> tuple[int, int] | None:
    """(text + data, outlined functions) of ``source`` compiled at -Oz, or None."""
    outline = ["-mllvm", f"-enable-machine-outliner={way[0]}"] if way else []
    folder = os.path.dirname(source)
    argv = [tool("clang"), *flags, *outline, "-Oz", "-w", "-c", source, "-o", out]
    argv += [f"-I{folder}", f"-I{os.path.dirname(folder)}"]
    if subprocess.run(argv, capture_output=True, timeout=300).returncode != 0:
        return None
    text, data, _ = llvm_size(out)
    symbols = subprocess.run([tool("llvm-nm"), out], capture_output=True, text=True).stdout
    return text + data, symbols.count("OUTLINED_FUNCTION")


def _change(totals: dict, smaller: dict, way: str) -> str:
    """How much smaller than the default ``way`` is, in all and in files."""
    pct = (totals["default"] - totals[way]) / totals["default"] * 100
    return f"{pct:+.2f}% ({smaller[way]} smaller)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--targets", default=DEFAULT_TARGETS)
    args = parser.parse_args(argv)
    print(
        f"{'target':24s} {'files':>5s} {'default':>9s} {'always':>9s} {'never':>9s}"
        f" {'always vs default':>17s} {'never vs default':>16s} {'outlined':>8s}"
    )
    with tempfile.TemporaryDirectory(prefix="llmc-outliner-") as tmp:
        out = os.path.join(tmp, "o.o")
        for triple in args.targets.split(","):
            flags = target_flags(triple)
            totals = dict.fromkeys(WAYS, 0)
            smaller = dict.fromkeys(WAYS, 0)
            outlined = files = skipped = 0
            for source in args.files:
                sizes = {w: build(source, flags, way, out) for w, way in WAYS.items()}
                if any(s is None for s in sizes.values()):
                    skipped += 1
                    continue
                files += 1
                outlined += sizes["default"][1]
                for w in WAYS:
                    totals[w] += sizes[w][0]
                    smaller[w] += sizes[w][0] < sizes["default"][0]
            if not files:
                print(f"{triple:24s} no file compiled ({skipped} skipped)")
                continue

            print(
                f"{triple:24s} {files:5d} {totals['default']:9d} {totals['always']:9d}"
                f" {totals['never']:9d} {_change(totals, smaller, 'always'):>17s}"
                f" {_change(totals, smaller, 'never'):>16s}"
                f" {outlined:8d}" + (f"  ({skipped} skipped)" if skipped else "")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
