"""The cost of one evaluation against module size, up to SQLite's amalgamation.

For each C file (small fixtures of the project, real library files, and SQLite's
single-file amalgamation of about 250 000 lines, fetched from the npm ``sqlite3``
package), it compiles the module once and times, in this process:

  parse      reading the bitcode into a module (once per worker and module)
  Oz-ic      the -Oz pipeline on a clone, then the instruction count (no code generation)
  Oz-fast    the same, then the in-process object emitter (search's size measure)
  Oz-llc     the same, then llc-19 on the optimized bitcode (the exact size measure)

and prints one row per module with its IR instruction count, so the cost per
evaluation can be read against size. Usage:

  python benchmarks/module_size.py [--work DIR] [--files a.c b.c ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from llmcompiler.engine import Objective
from llmcompiler.engine.worker import evaluate_module
from llmcompiler.llvm import Module
from llmcompiler.program import load_program

ROOT = Path(__file__).resolve().parent.parent
SQLITE_NPM = "sqlite3@5.1.7"  # ships deps/sqlite-autoconf-3440200.tar.gz


def sqlite_amalgamation(work: Path) -> Path:
    """Fetch the npm ``sqlite3`` package (once) and return the path of ``sqlite3.c``."""
    found = sorted(work.glob("sqlite-autoconf-*/sqlite3.c"))
    if found:
        return found[0]
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", SQLITE_NPM], cwd=work, check=True, capture_output=True)
    with tarfile.open(next(work.glob("sqlite3-*.tgz"))) as tgz:
        tgz.extractall(work, filter="data")
    with tarfile.open(next(work.glob("package/deps/sqlite-autoconf-*.tar.gz"))) as inner:
        inner.extractall(work, filter="data")
    return sorted(work.glob("sqlite-autoconf-*/sqlite3.c"))[0]


def default_files(work: Path) -> list[Path]:
    fixtures = ROOT / "tests" / "fixtures" / "programs"
    files = [ROOT / "examples" / "checksum.c", fixtures / "loops.c", fixtures / "strings.c"]
    files += sorted(Path("/tmp/sets2/real").glob("*/*/lz4libs/lz4*.c"))[:2]
    files += sorted(Path("/tmp/sets2/real").glob("*/*/c/enc/encode.c"))
    return [f for f in files if f.is_file()] + [sqlite_amalgamation(work)]


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/llmc-module-size"))
    parser.add_argument("--files", nargs="*", type=Path)
    args = parser.parse_args()
    files = args.files or default_files(args.work)
    print(
        f"{'module':28} {'lines':>7} {'IR instrs':>9} {'parse':>7} {'Oz-ic':>7} "
        f"{'Oz-fast':>7} {'Oz-llc':>7}  seconds per evaluation",
        flush=True,
    )
    for path in files:
        includes = [str(p / "include") for p in path.parents if (p / "include").is_dir()]
        program = load_program(path, [str(path.parent), *includes])
        lines = path.read_bytes().count(b"\n")
        repeat = 3 if len(program.bitcode) < 2_000_000 else 1
        parse = timed(lambda b=program.bitcode: Module.parse(b, "m").close(), repeat)
        with Module.parse(program.bitcode, "m") as module:
            size = evaluate_module(module, "default<Oz>", Objective(metric="instcount"))
            cost = {
                name: timed(lambda o=objective: evaluate_module(module, "default<Oz>", o), repeat)
                for name, objective in (
                    ("ic", Objective(metric="instcount")),
                    ("fast", Objective(metric="size")),
                    ("llc", Objective(metric="size", size_path="llc")),
                )
            }
        print(
            f"{path.name:28} {lines:7} {program_instructions(program):9} {parse:7.3f} "
            f"{cost['ic']:7.3f} {cost['fast']:7.3f} {cost['llc']:7.3f}  (-Oz: "
            f"{size.instcount} instructions)",
            flush=True,
        )
    return 0


def program_instructions(program) -> int:
    with Module.parse(program.bitcode, "m") as module:
        return module.instruction_count()


if __name__ == "__main__":
    sys.exit(main())
