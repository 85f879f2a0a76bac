"""Pick the coreset's training programs from a corpus, keeping the benchmark out.

The benchmark set (benchmarks/program_sets.py bench/ and real_files.txt) holds GCC
torture *execute* tests, csmith seeds 1+ and the lz4/brotli sources. Training takes
only what cannot overlap it: torture *compile* tests, csmith programs with seeds from
100000 and the PyPI packages of the corpus (lz4 and brotli are refused), and drops any
module whose hash equals a benchmark program's. Prints one module path per line (a
seeded sample of at most --limit per source kind).

Usage: python benchmarks/coreset_training.py CORPUS_DIR SETS_DIR [--limit-small 200]
       [--limit-real 400] [--seed 0] > train_modules.txt
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from llmcompiler.corpus.store import read_manifest
from llmcompiler.errors import LLMCError
from llmcompiler.program import load_programs

BENCH_LIBRARIES = ("pypi:lz4", "pypi:brotli", "pypi:brotlicffi")


def bench_hashes(sets: Path) -> set[str]:
    paths = [str(p) for p in sorted((sets / "bench").glob("*.c"))]
    out = set()
    for _, program in load_programs(paths, ["/usr/include/csmith"], jobs=2):
        if not isinstance(program, LLMCError):
            out.add(program.hash)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("sets", type=Path)
    parser.add_argument("--limit-small", type=int, default=200, help="per small-program kind")
    parser.add_argument("--limit-real", type=int, default=400, help="PyPI library modules")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    banned = bench_hashes(args.sets)
    groups: dict[str, list] = {"torture-compile": [], "csmith": [], "real": []}
    for e in read_manifest(args.corpus):
        if e.hash in banned or e.source in BENCH_LIBRARIES or e.instcount == 0:
            continue
        if e.id.startswith("gcc-torture/compile/"):
            groups["torture-compile"].append(e)
        elif e.source == "csmith" and int(e.id.split("_")[-1].split(".")[0]) >= 100000:
            groups["csmith"].append(e)
        elif e.source.startswith("pypi:"):
            groups["real"].append(e)
    rng = random.Random(args.seed)
    for kind, entries in groups.items():
        limit = args.limit_real if kind == "real" else args.limit_small
        chosen = sorted(rng.sample(entries, min(limit, len(entries))), key=lambda e: e.id)
        print(f"{kind}: {len(chosen)} of {len(entries)}", file=sys.stderr)
        for e in chosen:
            print(args.corpus / e.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
