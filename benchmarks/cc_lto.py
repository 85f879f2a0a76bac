"""A small C project built four ways: clang -Oz, clang -Oz -flto, llmc cc, llmc cc -flto.

Each build compiles every source to an object (``--jobs`` at a time, as ``make -j``
would) and links them; it prints the linked program's text + data (llvm-size-19), the
build's wall-clock seconds, and whether the program's output matches the clang -Oz
build's. The llmc builds start from an empty tuning database (a cold build), with
``LLMC_CC_BUDGET`` seconds per search. Usage:

  python benchmarks/cc_lto.py                              # tests/fixtures/lto_program
  python benchmarks/cc_lto.py DIR                          # every .c file in DIR
  python benchmarks/cc_lto.py --files a.c b/c.c -I inc --ldflags=-lm --run-args=--version
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llmcompiler.llvm.toolchain import llvm_size, tool

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "fixtures" / "lto_program"
LLMC = str(Path(sys.executable).parent / "llmc")


def build(
    label: str,
    cc: list[str],
    flags: list[str],
    ldflags: list[str],
    files: list[Path],
    work: Path,
    env: dict,
    jobs: int,
) -> tuple[Path, float]:
    """Compile ``files`` and link them into ``work/<label>/prog``; returns the program
    and the build's seconds."""
    out = work / label.replace(" ", "_")
    out.mkdir()
    objects = [out / f"{i}-{f.stem}.o" for i, f in enumerate(files)]

    def compile_one(pair: tuple[Path, Path]) -> None:
        source, obj = pair
        subprocess.run([*cc, *flags, "-c", str(source), "-o", str(obj)], env=env, check=True)

    start = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(compile_one, zip(files, objects)))
    prog = out / "prog"
    link = [*cc, *[f for f in flags if f.startswith(("-flto", "-O"))], *map(str, objects)]
    subprocess.run([*link, *ldflags, "-o", str(prog)], env=env, check=True)
    return prog, time.monotonic() - start


def output_of(prog: Path, args: list[str], stdin: Path | None) -> bytes | None:
    """What the program writes to stdout (None when it fails)."""
    data = stdin.read_bytes() if stdin else None
    proc = subprocess.run([str(prog), *args], input=data, capture_output=True, timeout=120)
    return proc.stdout if proc.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, help="build every .c file in DIR")
    parser.add_argument("--files", nargs="+", type=Path, default=[], help="the sources")
    parser.add_argument("-I", dest="include", action="append", default=[], help="-I dirs")
    parser.add_argument("--cflags", default="", help="more compile flags (one string)")
    parser.add_argument("--ldflags", default="", help="link flags (one string, e.g. -lm)")
    parser.add_argument("--budget", default="1", help="LLMC_CC_BUDGET (default 1)")
    parser.add_argument("--jobs", type=int, default=2, help="compiles at a time (default 2)")
    parser.add_argument("--run-args", default="", help="arguments of the check run")
    parser.add_argument("--stdin", type=Path, help="standard input of the check run")
    args = parser.parse_args(argv)
    files = args.files or sorted((args.dir or DEFAULT).glob("*.c"))
    if not files:
        parser.error("no sources")
    base = [*(f"-I{d}" for d in args.include), *shlex.split(args.cflags)]
    ldflags = shlex.split(args.ldflags)
    clang = [tool("clang")]
    llmc = [LLMC, "cc"]
    ways = [
        ("clang -Oz", clang, ["-Oz"]),
        ("clang -Oz -flto", clang, ["-Oz", "-flto"]),
        ("llmc cc", llmc, ["-Oz"]),
        ("llmc cc -flto", llmc, ["-Oz", "-flto"]),
    ]
    print(f"{len(files)} sources, LLMC_CC_BUDGET={args.budget}, {args.jobs} jobs", flush=True)
    print(f"{'build':<18}{'text+data':>10}{'vs clang -Oz':>14}{'seconds':>9}  output")
    expected = None
    reference = 0
    with tempfile.TemporaryDirectory(prefix="cc-lto-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, LLMC_CC_DB=str(work / "tuning.sqlite"))
        env["LLMC_CC_BUDGET"] = args.budget
        env.pop("LLMC_CC_FAIL", None)
        for label, cc, flags in ways:
            prog, seconds = build(label, cc, [*flags, *base], ldflags, files, work, env, args.jobs)
            text, data, _ = llvm_size(prog)
            output = output_of(prog, shlex.split(args.run_args), args.stdin)
            if expected is None:
                expected, reference = output, text + data
            same = "same" if output is not None and output == expected else "DIFFERS"
            change = (text + data - reference) / reference * 100
            print(f"{label:<18}{text + data:>10}{change:>+13.2f}%{seconds:>9.2f}  {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
