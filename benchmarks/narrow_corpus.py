"""Narrowing over a corpus: how many opportunities, how many survive -Oz, and
what applying them before default<Oz> / default<O2> does to binary size.

For each C/.ll file: load it (clang-19, size-tuning front end flags), then

- count opportunities after ``function(mem2reg)`` (the SSA form of the input);
- count opportunities in the ``default<Oz>`` output (what -Oz leaves);
- where there are any: apply them (after mem2reg), verify, run the program
  against its -O0 build when it has ``main``, and measure binary size
  (llc-19 object, text + data) of mem2reg -> [narrow ->] default<Oz>, and the
  same with default<O2> on IR from the -O2 front end (no minsize attributes).

One process, one file at a time. The GCC torture tests are a good corpus:

    mkdir -p /tmp/torture && tar -xJf /usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz -C /tmp/torture \
        --wildcards 'gcc-12.2.0/gcc/testsuite/gcc.c-torture/execute/*.c'
    python benchmarks/narrow_corpus.py /tmp/torture/gcc-12.2.0/gcc/testsuite/gcc.c-torture/execute \
        --limit 300 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from llmcompiler.analysis.narrow import apply_narrowing, find_narrowing
from llmcompiler.errors import LLMCError
from llmcompiler.llvm import Module, TargetMachine, berkeley_size
from llmcompiler.llvm.toolchain import compile_source, llc_object
from llmcompiler.program import load_program, program_from_ir
from llmcompiler.search.validate import RunSpec, Validator

MEM2REG = "function(mem2reg)"
#: The torture tests are old C: implicit int, implicit declarations.
TORTURE_FLAGS = "-std=gnu89 -w -Wno-error=int-conversion -Wno-error=incompatible-pointer-types"


def _run(bitcode: bytes, pipeline: str) -> Module:
    module = Module.parse(bitcode)
    with TargetMachine(module.triple) as tm:
        module.run_passes(pipeline, tm)
    return module


def _size(bitcode: bytes) -> int:
    return berkeley_size(llc_object(bitcode)).binary_size


def load(path: Path, cflags: str):
    """Load a .c file with extra front-end flags (or any file load_program takes)."""
    if path.suffix != ".c" or not cflags:
        return load_program(path)
    bitcode = compile_source(path, extra_flags=tuple(cflags.split()), timeout=60)
    return program_from_ir(bitcode, str(path), source=str(path))


def measure(path: Path, check: bool, cflags: str = TORTURE_FLAGS) -> dict:
    """All numbers for one file. Raises LLMCError when it does not load."""
    program = load(path, cflags)
    row: dict = {"file": path.name}
    with _run(program.bitcode, MEM2REG) as ssa:
        report = find_narrowing(ssa)
        ssa_bitcode = ssa.to_bitcode()
    row["examined"] = report.examined
    row["found"] = len(report.opportunities)
    row["kinds"] = dict(Counter(o.kind for o in report.opportunities))
    with _run(program.bitcode, "default<Oz>") as oz:
        row["after_oz"] = len(find_narrowing(oz).opportunities)
    if not report.opportunities:
        return row
    with Module.parse(ssa_bitcode) as narrowed:
        apply_narrowing(narrowed)  # raises InvalidIRError if the rewrite is broken
        narrowed_bitcode = narrowed.to_bitcode()
    if check and program.has_main:
        validator = Validator(program, RunSpec(timeout=5.0))
        try:
            row["same_behaviour"] = validator.check(narrowed_bitcode)[0]
        finally:
            validator.close()
    # -O2 gets IR from the -O2 front end (no minsize/optsize attributes).
    inputs = {"Oz": (ssa_bitcode, narrowed_bitcode), "O2": _narrowed_pair(path, cflags, program)}
    for level, (plain, narrowed_input) in inputs.items():
        pipeline = f"default<{level}>"
        with _run(plain, pipeline) as base, _run(narrowed_input, pipeline) as ours:
            row[f"{level}_size"] = _size(base.to_bitcode())
            row[f"{level}_narrow_size"] = _size(ours.to_bitcode())
            row[f"{level}_left"] = len(find_narrowing(ours).opportunities)
    return row


def _narrowed_pair(path: Path, cflags: str, program) -> tuple[bytes, bytes]:
    """(mem2reg, mem2reg + narrow) bitcode of the file's -O2 front-end IR."""
    if path.suffix == ".c":
        flags = f"{cflags} -O2".split()
        program = program_from_ir(compile_source(path, extra_flags=flags, timeout=60), str(path))
    with _run(program.bitcode, MEM2REG) as ssa:
        plain = ssa.to_bitcode()
        apply_narrowing(ssa)
        return plain, ssa.to_bitcode()


def summarize(rows: list[dict], failed: int, seconds: float) -> str:
    loaded = [r for r in rows if "found" in r]
    with_any = [r for r in loaded if r["found"]]
    kinds: Counter = Counter()
    for r in loaded:
        kinds.update(r["kinds"])
    lines = [
        f"files: {len(loaded)} analyzed, {failed} did not load or failed; {seconds:.0f} s",
        f"integer instructions examined (after mem2reg): {sum(r['examined'] for r in loaded)}",
        f"opportunities after mem2reg: {sum(r['found'] for r in loaded)} "
        f"in {len(with_any)} files ({', '.join(f'{k} {v}' for k, v in kinds.most_common())})",
        f"opportunities in the -Oz output: {sum(r['after_oz'] for r in loaded)} "
        f"in {sum(1 for r in loaded if r['after_oz'])} files",
    ]
    checked = [r for r in with_any if "same_behaviour" in r]
    if checked:
        same = sum(r["same_behaviour"] for r in checked)
        lines.append(f"differential runs of narrowed programs: {same}/{len(checked)} identical")
    for level in ("Oz", "O2"):
        sized = [r for r in with_any if f"{level}_size" in r]
        if not sized:
            continue
        base = sum(r[f"{level}_size"] for r in sized)
        ours = sum(r[f"{level}_narrow_size"] for r in sized)
        smaller = sum(r[f"{level}_narrow_size"] < r[f"{level}_size"] for r in sized)
        larger = sum(r[f"{level}_narrow_size"] > r[f"{level}_size"] for r in sized)
        ratios = [r[f"{level}_size"] / r[f"{level}_narrow_size"] for r in sized]
        left = sum(r[f"{level}_left"] for r in sized)
        lines.append(
            f"narrow before default<{level}> on {len(sized)} files: total size {base} -> {ours} "
            f"bytes ({(base - ours) / base * 100:+.2f}% saved), geomean ratio "
            f"{statistics.geometric_mean(ratios):.4f}; smaller {smaller}, larger {larger}, "
            f"same {len(sized) - smaller - larger}; opportunities left after it: {left}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", help="directories or .c/.ll files")
    ap.add_argument("--limit", type=int, default=300, help="files at most (sorted by name)")
    ap.add_argument("--no-check", action="store_true", help="skip the differential runs")
    ap.add_argument("--json", metavar="OUT", help="write per-file rows here")
    ap.add_argument(
        "--cflags", default=TORTURE_FLAGS, help=f"extra clang flags (default: {TORTURE_FLAGS})"
    )
    args = ap.parse_args(argv)
    files: list[Path] = []
    for p in map(Path, args.paths):
        files += sorted(p.glob("*.c")) + sorted(p.glob("*.ll")) if p.is_dir() else [p]
    files = files[: args.limit]
    rows, failed, start = [], 0, time.time()
    for i, path in enumerate(files, 1):
        try:
            rows.append(measure(path, not args.no_check, args.cflags))
        except LLMCError as err:
            failed += 1
            rows.append({"file": path.name, "error": str(err).splitlines()[0][:200]})
        if i % 25 == 0:
            print(f"{i}/{len(files)} files", file=sys.stderr)
    for r in rows:
        if r.get("same_behaviour") is False:
            print(f"DIFFERS: {r['file']}", file=sys.stderr)
        if "Oz_size" in r and r["Oz_narrow_size"] != r["Oz_size"]:
            print(
                f"{r['file']}: Oz {r['Oz_size']} -> {r['Oz_narrow_size']}, "
                f"O2 {r['O2_size']} -> {r['O2_narrow_size']}"
            )
    print(summarize(rows, failed, time.time() - start))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
