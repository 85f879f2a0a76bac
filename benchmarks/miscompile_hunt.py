"""Miscompilation hunt: `llmc optimize --validate` at scale, and proof that nothing
that failed a check shipped.

Programs: fresh csmith programs (seeds from --csmith-seed on, never used for training
or benchmarks elsewhere) and the GCC torture *execute* tests (abort() on a wrong
result), unpacked from Debian's gcc-12-source. For each program it runs the tuner with
validation, then checks the shipped result independently of the tuner: the object the
user gets (`llmc optimize -o x.o`'s bytes: the kept pipeline through llc-19) is linked
with clang-19's default flags and run beside clang-19's own -O0 build; stdout and exit
status must match for every result that says "validated".

Counts printed: programs, candidates the validation caught (discarded), results
validated / not checked / failed, re-check mismatches of validated results (false
"validated", must be 0), and -Oz results whose own build differs from -O0.

Usage: python benchmarks/miscompile_hunt.py [--csmith 40] [--torture 60] [--evaluations 150]
Needs: apt-get install csmith libcsmith-dev gcc-12-source
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from llmcompiler.corpus.sources import TORTURE_FLAGS
from llmcompiler.engine import Evaluator
from llmcompiler.errors import LLMCError
from llmcompiler.llvm.toolchain import compile_source
from llmcompiler.program import program_from_ir
from llmcompiler.search.accept import EXACT, OZ_DIFFERS
from llmcompiler.search.coreset import load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize
from llmcompiler.search.validate import RunSpec

GCC_TARBALL = "/usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz"
EXECUTE = "gcc/testsuite/gcc.c-torture/execute/"
CSMITH_FLAGS = ["--max-funcs", "6", "--max-block-depth", "3", "--no-packed-struct"]
RUN_TIMEOUT = 10.0


def csmith_programs(out: Path, count: int, first_seed: int) -> list[tuple[Path, list[str]]]:
    programs = []
    for seed in range(first_seed, first_seed + count):
        path = out / f"csmith_{seed}.c"
        with open(path, "wb") as f:
            subprocess.run(["csmith", "--seed", str(seed), *CSMITH_FLAGS], stdout=f, check=True)
        programs.append((path, ["/usr/include/csmith"]))
    return programs


def torture_programs(out: Path, count: int, seed: int) -> list[tuple[Path, list[str]]]:
    with tarfile.open(GCC_TARBALL) as tar:
        members = [
            m
            for m in tar.getmembers()
            if EXECUTE in m.name and m.name.endswith(".c") and m.name.count("/") == 5
        ]
        chosen = sorted(random.Random(seed).sample(members, min(count, len(members))), key=str)
        programs = []
        for m in chosen:
            data = tar.extractfile(m).read()
            path = out / Path(m.name).name
            path.write_bytes(data)
            programs.append((path, []))
    return programs


def run(exe: Path) -> tuple[bytes, int | None]:
    try:
        proc = subprocess.run([str(exe)], capture_output=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return b"", None
    return proc.stdout, proc.returncode


def recheck(evaluator: Evaluator, program, pipeline: str, source: Path, flags, work: Path):
    """Build the shipped object and clang's -O0 build; True when both run alike, None when
    either times out or does not link (nothing to compare)."""
    obj = work / "shipped.o"
    obj.write_bytes(evaluator.evaluate(program, pipeline, EXACT, output="object").output)
    shipped, reference = work / "shipped", work / "reference"
    link = subprocess.run(["clang++-19", str(obj), "-o", str(shipped), "-lm"], capture_output=True)
    build = subprocess.run(
        ["clang-19", "-O0", *flags, str(source), "-o", str(reference), "-lm"], capture_output=True
    )
    if link.returncode or build.returncode:
        return None
    got, want = run(shipped), run(reference)
    if got[1] is None or want[1] is None:
        return None
    return got == want


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csmith", type=int, default=40, help="csmith programs")
    parser.add_argument("--csmith-seed", type=int, default=500000, help="first csmith seed")
    parser.add_argument("--torture", type=int, default=60, help="GCC torture execute tests")
    parser.add_argument("--evaluations", type=int, default=150, help="per program")
    parser.add_argument("--objective", choices=("size", "instcount"), default="size")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    counts = dict.fromkeys(
        (
            "programs",
            "load_errors",
            "discarded_by_validation",
            "validated",
            "not_checked",
            "failed",
            "oz_differs",
            "rechecked",
            "recheck_skipped",
            "false_validated",
        ),
        0,
    )
    start = time.monotonic()
    config = TuneConfig(
        budget=Budget(None, args.evaluations),
        metric=args.objective,
        coreset=load_coreset(None).pipelines,
        validate=True,
        run=RunSpec(timeout=RUN_TIMEOUT),
    )
    with tempfile.TemporaryDirectory(prefix="llmc-hunt-") as tmp, Evaluator(jobs=args.jobs) as ev:
        work = Path(tmp)
        programs = csmith_programs(work, args.csmith, args.csmith_seed)
        programs += torture_programs(work, args.torture, seed=7)
        for source, includes in programs:
            flags = [f"-I{d}" for d in includes] + ([] if includes else list(TORTURE_FLAGS))
            try:
                ir = compile_source(source, includes, extra_flags=() if includes else TORTURE_FLAGS)
                program = program_from_ir(ir, source.name, source=str(source))
                r = optimize(ev, program, config)
            except LLMCError as err:
                counts["load_errors"] += 1
                print(f"skipped {source.name}: {str(err).splitlines()[0]}", file=sys.stderr)
                continue
            counts["programs"] += 1
            counts["discarded_by_validation"] += sum(
                why.startswith("validation failed") for _, why in r.discarded
            )
            if OZ_DIFFERS in r.validation:
                counts["oz_differs"] += 1
            key = {True: "validated", False: "failed", None: "not_checked"}[r.validated]
            counts[key] += 1
            if r.validated:
                same = recheck(ev, program, r.pipeline, source, flags, work)
                if same is None:
                    counts["recheck_skipped"] += 1
                else:
                    counts["rechecked"] += 1
                    if not same:
                        counts["false_validated"] += 1
                        print(f"FALSE VALIDATED: {source.name}: {r.pipeline}", file=sys.stderr)
            print(
                f"{source.name:28} {r.improvement_pct:6.2f}%  {key:11} caught {len(r.discarded)}",
                flush=True,
            )
    counts["seconds"] = round(time.monotonic() - start, 1)
    print("  ".join(f"{k} {v}" for k, v in counts.items()))
    return 1 if counts["false_validated"] else 0


if __name__ == "__main__":
    sys.exit(main())
