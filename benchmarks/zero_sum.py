"""The zero-sum benchmark: summing arrays of int8, int16, int32 and int64.

Each array is filled so that element i+1 is the negation of element i (so the
sum is 0), then summed in a loop into an accumulator of the element's type,
several million elements, best of a few repetitions. The C program is generated
here and compiled by clang-19 at -O2 and -Oz, with and without the loop and SLP
vectorizers. The script prints nanoseconds per element, reads the generated
assembly of each sum loop (vector width, elements and instructions per
iteration, instructions per element), saves a plot, and runs ``llmc narrow`` on
the same C source to see whether the narrowing analysis has anything to offer.

    python benchmarks/zero_sum.py --plot zero_sum.png [--elements 8388608] [--march native]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from llmcompiler.analysis.narrow import find_narrowing
from llmcompiler.llvm import Module, TargetMachine
from llmcompiler.llvm.toolchain import tool
from llmcompiler.program import load_program

TYPES = (("i8", "int8_t", 1), ("i16", "int16_t", 2), ("i32", "int32_t", 4), ("i64", "int64_t", 8))
NOVEC = ("-fno-vectorize", "-fno-slp-vectorize")
VEC = ("-fvectorize", "-fslp-vectorize")
CONFIGS = {
    "O2": ("-O2", *VEC),
    "O2 novec": ("-O2", *NOVEC),
    "Oz vec": ("-Oz", *VEC),
    "Oz": ("-Oz", *NOVEC),
}

SOURCE = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define KERNELS(T, NAME)                                                        \
    __attribute__((noinline)) void fill_##NAME(T *a, long n, T first) {        \
        a[0] = first;                                                           \
        for (long i = 0; i + 1 < n; i++)                                        \
            a[i + 1] = (T)-a[i];                                                \
    }                                                                           \
    __attribute__((noinline)) T sum_##NAME(const T *a, long n) {               \
        T s = 0;                                                                \
        for (long i = 0; i < n; i++)                                            \
            s += a[i];                                                          \
        return s;                                                               \
    }                                                                           \
    static void bench_##NAME(long n, int reps, int first) {                     \
        T *a = malloc(n * sizeof(T));                                           \
        if (!a) { perror("malloc"); exit(1); }                                  \
        fill_##NAME(a, n, (T)first);                                            \
        double best = 1e30; long long check = 0;                                \
        for (int r = 0; r < reps; r++) {                                        \
            struct timespec t0, t1;                                             \
            __asm__ volatile("" ::: "memory");                                  \
            clock_gettime(CLOCK_MONOTONIC, &t0);                                \
            T s = sum_##NAME(a, n);                                             \
            clock_gettime(CLOCK_MONOTONIC, &t1);                                \
            __asm__ volatile("" ::: "memory");                                  \
            double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec); \
            if (ns < best) best = ns;                                           \
            check += s;                                                         \
        }                                                                       \
        printf(#NAME " %.4f %lld\n", best / n, check);                          \
        free(a);                                                                \
    }

KERNELS(int8_t, i8)
KERNELS(int16_t, i16)
KERNELS(int32_t, i32)
KERNELS(int64_t, i64)

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 8388608;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    int first = argc > 3 ? atoi(argv[3]) : 3;
    bench_i8(n, reps, first);
    bench_i16(n, reps, first);
    bench_i32(n, reps, first);
    bench_i64(n, reps, first);
    return 0;
}
"""


@dataclass(frozen=True)
class LoopShape:
    """The hottest loop of one sum function, read from its assembly."""

    vector_bits: int  # 0: scalar
    elements_per_iteration: float
    instructions: int

    @property
    def per_element(self) -> float:
        return self.instructions / self.elements_per_iteration


_MEM = re.compile(r"(-?\d*)\((%\w+)(?:,(%\w+)(?:,(\d))?)?\)")
_LABEL = re.compile(r"^(\.LBB\w+):")
_JUMP = re.compile(r"^\s+j\w+\s+(\.LBB\w+)")


def function_asm(asm: str, name: str) -> list[str]:
    lines = asm.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split("#")[0].strip() == f"{name}:")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(".Lfunc_end"))
    return lines[start:end]


def _is_instruction(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith((".", "#")) and not s.endswith(":")


def loop_shapes(body: list[str], elem_bytes: int) -> list[LoopShape]:
    """Every loop (a backward jump to a label) with its vector width, elements
    consumed per iteration (from the pointer or index increment) and size."""
    labels = {m.group(1): i for i, ln in enumerate(body) if (m := _LABEL.match(ln))}
    shapes = []
    for j, line in enumerate(body):
        m = _JUMP.match(line)
        if not m or labels.get(m.group(1), j + 1) > j:
            continue
        loop = [ln.split("#")[0] for ln in body[labels[m.group(1)] + 1 : j + 1]]
        insts = [ln for ln in loop if _is_instruction(ln)]
        text = "\n".join(insts)
        bits = 512 if "%zmm" in text else 256 if "%ymm" in text else 0
        if not bits and re.search(r"\bv?p(add|sub)[bwdq]\b.*%xmm", text):
            bits = 128
        step = _elements_per_iteration(insts, elem_bytes)
        if step:
            shapes.append(LoopShape(bits, step, len(insts)))
    return shapes


def _increment(insts: list[str], reg: str) -> int | None:
    for ln in insts:
        parts = ln.split()
        if len(parts) < 2 or parts[-1].rstrip(",") != reg:
            continue
        if parts[0] in ("incq", "decq", "incl", "decl"):
            return 1
        if parts[0] in ("addq", "subq", "addl", "subl") and parts[1].startswith("$"):
            return abs(int(parts[1][1:].rstrip(",")))
    return None


def _elements_per_iteration(insts: list[str], elem_bytes: int) -> float | None:
    for ln in insts:
        for m in _MEM.finditer(ln):
            base, index, scale = m.group(2), m.group(3), int(m.group(4) or 1)
            if index:
                k = _increment(insts, index)
                if k:
                    return k * scale / elem_bytes
            k = _increment(insts, base)
            if k:
                return k / elem_bytes
    return None


def compile_and_run(src: Path, flags: tuple[str, ...], workdir: Path, n: int, reps: int):
    exe = workdir / ("bench" + "".join(f.replace("-", "_") for f in flags))
    subprocess.run([tool("clang"), *flags, str(src), "-o", str(exe)], check=True)
    asm = subprocess.run(
        [tool("clang"), *flags, "-S", str(src), "-o", "-"], check=True, capture_output=True
    ).stdout.decode()
    out = subprocess.run([str(exe), str(n), str(reps)], check=True, capture_output=True)
    times = {}
    for line in out.stdout.decode().splitlines():
        name, ns, check = line.split()
        if int(check) != 0:
            raise SystemExit(f"{name}: sum is {check}, expected 0")
        times[name] = float(ns)
    return times, asm


def narrow_opportunities(src: Path, pipeline: str) -> dict[str, int]:
    """Opportunities ``llmc narrow`` finds in each sum/fill function after ``pipeline``."""
    program = load_program(src)
    with Module.parse(program.bitcode) as module:
        module.run_passes(pipeline, TargetMachine(module.triple))
        report = find_narrowing(module)
    counts: dict[str, int] = {}
    for o in report.opportunities:
        counts[o.function] = counts.get(o.function, 0) + 1
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=int, default=8 * 1024 * 1024)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--march", default="", help="e.g. native (default: generic x86-64, SSE2)")
    ap.add_argument("--plot", metavar="PNG", help="save a bar chart here")
    args = ap.parse_args(argv)
    extra = (f"-march={args.march}",) if args.march else ()
    with tempfile.TemporaryDirectory(prefix="zero-sum-") as tmp:
        work = Path(tmp)
        src = work / "zero_sum.c"
        src.write_text(SOURCE)
        results = {}
        for label, flags in CONFIGS.items():
            print(f"running {label} ...", file=sys.stderr)
            times, asm = compile_and_run(src, flags + extra, work, args.elements, args.reps)
            for name, _, size in TYPES:
                shapes = loop_shapes(function_asm(asm, f"sum_{name}"), size)
                hot = max(shapes, key=lambda s: s.elements_per_iteration) if shapes else None
                results[(label, name)] = (times[name], hot)
        counts = {p: narrow_opportunities(src, p) for p in ("function(mem2reg)", "default<O2>")}
    target = f"-march={args.march}" if args.march else "generic x86-64 (SSE2)"
    print(f"zero-sum: {args.elements} elements, best of {args.reps}, clang-19, {target}")
    header = f"{'type':5} {'config':9} {'ns/elem':>8} {'vector':>8} {'elem/iter':>9} "
    print(header + f"{'instr/iter':>10} {'instr/elem':>10}")
    for name, _, _ in TYPES:
        for label in CONFIGS:
            ns, hot = results[(label, name)]
            vec = f"{hot.vector_bits}-bit" if hot and hot.vector_bits else "scalar"
            shape = (
                f"{hot.elements_per_iteration:>9g} {hot.instructions:>10} {hot.per_element:>10.3f}"
                if hot
                else f"{'?':>9} {'?':>10} {'?':>10}"
            )
            print(f"{name:5} {label:9} {ns:>8.4f} {vec:>8} {shape}")
    for pipeline, found in counts.items():
        sums = {k: v for k, v in found.items() if k.startswith("sum_")}
        fills = {k: v for k, v in found.items() if k.startswith("fill_")}
        print(
            f"llmc narrow after {pipeline}: sum loops {sums or 'none'}; "
            f"fill loops {fills or 'none'}; all functions {sum(found.values())}"
        )
    if args.plot:
        _plot(results, args.plot, target)
        print(f"plot: {args.plot}")
    return 0


def _plot(results, path: str, target: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.2
    for k, label in enumerate(CONFIGS):
        xs = [i + (k - 1.5) * width for i in range(len(TYPES))]
        ax.bar(xs, [results[(label, n)][0] for n, _, _ in TYPES], width, label=label)
    ax.set_xticks(range(len(TYPES)), [c for _, c, _ in TYPES])
    ax.set_ylabel("ns per element (best of runs)")
    ax.set_title(f"Zero-sum arrays: summing in the element type, clang-19, {target}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
