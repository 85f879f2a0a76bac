"""Write the benchmark programs (benchmarks/program_sets.py SETS_DIR) as bitcode files in
one directory, compiled with their include directories, for `llmc eval --bench DIR`.

Usage (from the repository root): python benchmarks/bench_bitcode.py SETS_DIR OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from llmcompiler.errors import LLMCError
from llmcompiler.program import load_programs

sys.path.insert(0, str(Path(__file__).parent))
from tuning import program_paths  # noqa: E402 (a sibling script)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    sets, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path, includes in program_paths(sets, None, 0):
        ((_, program),) = load_programs([path], includes)
        if isinstance(program, LLMCError):
            print(f"skipped: {program}", file=sys.stderr)
            failed += 1
            continue
        name = str(Path(path).relative_to(sets)).replace("/", "__").rsplit(".", 1)[0]
        (out / f"{name}.bc").write_bytes(program.bitcode)
    print(f"{len(list(out.glob('*.bc')))} programs in {out} ({failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
