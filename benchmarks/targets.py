"""Tuning on every target: one row per target triple, on the project's own benchmark
programs compiled for that target.

For each target it compiles the benchmark set (benchmarks/program_sets.py bench/:
GCC torture *execute* tests and csmith programs, which print a checksum) with
``clang-19 --target=T``, and runs ``optimize`` at one time budget per program, with
validation, twice: once with the x86-64 coreset (what every target got before per-target
data) and once with the target's own shipped coreset where there is one, both with the
built-in model's proposals first, as ``llmc optimize`` does by default. It prints the
mean and geometric-mean size improvement over -Oz, the programs worse than -Oz (always
0: the tuner falls back to -Oz), evaluations per second, and the share of programs whose
result was validated by running it (under qemu-user or wasmtime; bare-metal, Mach-O and
COFF code cannot run here and say so).

Usage: python benchmarks/targets.py SETS_DIR [--targets T1,T2] [--limit 6] [--budget 10]
       [--jobs 2] [--out rows.jsonl]
Needs: the cross packages of scripts/install-cross.sh.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

from llmcompiler.engine import Evaluator
from llmcompiler.errors import LLMCError
from llmcompiler.llvm.toolchain import compile_source
from llmcompiler.model.loading import load_pass_list_model
from llmcompiler.program import program_from_ir
from llmcompiler.search.coreset import load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize

#: target -> extra clang flags (the CPU a firmware build names)
TARGETS = {
    "x86_64-linux-gnu": (),
    "x86_64-apple-macosx": (),
    "x86_64-windows-msvc": (),
    "i386-linux-gnu": (),
    "aarch64-linux-gnu": (),
    "armv7-linux-gnueabihf": (),
    "thumbv7em-none-eabi": ("-mcpu=cortex-m4",),
    "riscv32-unknown-elf": (),
    "riscv64-linux-gnu": (),
    "wasm32-wasi": (),
    "powerpc64le-linux-gnu": (),
    "s390x-linux-gnu": (),
    "mips-linux-gnu": (),
}


def target_flags(triple: str) -> list[str]:
    """clang flags for ``triple``: --target, its CPU, and the headers the library finds
    for it (picolibc for bare metal), through llmc's own resolution when present."""
    flags = [f"--target={triple}", *TARGETS.get(triple, ())]
    try:
        from llmcompiler.llvm.sysroots import header_flags  # added with the targets work
    except ImportError:
        return flags
    return flags + header_flags(flags)


def programs_for(triple: str, sets: Path, limit: int, seed: int) -> list:
    paths = sorted((sets / "bench").glob("*.c"))
    paths = sorted(random.Random(seed).sample(paths, min(limit, len(paths))))
    out = []
    flags = target_flags(triple) if triple != "host" else []
    for path in paths:
        try:
            bitcode = compile_source(path, ["/usr/include/csmith"], (), flags, timeout=120)
            out.append(program_from_ir(bitcode, path.name))
        except LLMCError as err:
            print(f"  {triple}: {path.name}: {str(err).splitlines()[0]}", file=sys.stderr)
    return out


def shipped_for(triple: str):
    """The target's own coreset, or None when only the x86-64 one exists (or the target
    is x86-64, whose own data is the x86-64 one)."""
    try:
        from llmcompiler.search.coreset import coreset_for
    except ImportError:
        return None
    coreset = coreset_for(triple)
    fits = coreset.provenance.get("fits") and coreset.provenance.get("target") != "x86_64"
    return coreset if fits else None


def run(programs, coreset, budget: float, jobs: int, model) -> dict:
    config = TuneConfig(
        budget=Budget(budget), coreset=coreset.pipelines, validate=True, model=model
    )
    rows = []
    with Evaluator(jobs=jobs) as ev:
        for program in programs:
            start = time.monotonic()
            try:
                r = optimize(ev, program, config)
            except LLMCError as err:
                print(f"  {program.name}: {err}", file=sys.stderr)
                continue
            rows.append(
                {
                    "oz": r.oz.size,
                    "best": r.best.size,
                    "pct": r.improvement_pct,
                    "evals": r.evaluations,
                    "seconds": time.monotonic() - start,
                    "validated": r.validated is True,
                    "validation": r.validation,
                }
            )
    n = len(rows) or 1
    return {
        "programs": len(rows),
        "mean_pct": sum(r["pct"] for r in rows) / n,
        "geomean_pct": (math.exp(sum(math.log(r["oz"] / r["best"]) for r in rows) / n) - 1) * 100,
        "worse": sum(r["best"] > r["oz"] for r in rows),
        "evals_per_s": sum(r["evals"] for r in rows) / max(1e-9, sum(r["seconds"] for r in rows)),
        "validated_pct": sum(r["validated"] for r in rows) / n * 100,
        "validation": sorted({r["validation"].split(" (")[0] for r in rows if not r["validated"]}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=Path)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--limit", type=int, default=6, help="programs per target")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per program")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the rows as JSON lines")
    args = parser.parse_args()
    x86 = load_coreset()
    model = load_pass_list_model("builtin")  # as `llmc optimize` uses by default
    header = (
        f"{'target':24} {'progs':>5} {'x86 data':>9} {'own data':>9} {'geomean':>8} "
        f"{'worse':>5} {'evals/s':>8} {'validated':>9}  own data / not validated because"
    )
    print(header, flush=True)
    for triple in args.targets.split(","):
        programs = programs_for(triple, args.sets, args.limit, args.seed)
        if not programs:
            print(f"{triple:24} no program compiled", flush=True)
            continue
        base = run(programs, x86, args.budget, args.jobs, model)
        own_coreset = shipped_for(triple)
        own = run(programs, own_coreset, args.budget, args.jobs, model) if own_coreset else None
        best = own or base
        own_text = f"{own['mean_pct']:8.2f}%" if own else f"{'-':>9}"
        why = "; ".join(best["validation"]) or "-"
        label = own_coreset.provenance["target"] if own_coreset else "x86_64 only"
        print(
            f"{triple:24} {base['programs']:5} {base['mean_pct']:8.2f}% {own_text} "
            f"{best['geomean_pct']:7.2f}% {base['worse'] + (own or base)['worse']:5} "
            f"{best['evals_per_s']:8.1f} {best['validated_pct']:8.0f}%  {label} / {why}",
            flush=True,
        )
        if args.out:
            with args.out.open("a") as f:
                f.write(json.dumps({"target": triple, "x86": base, "own": own}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
