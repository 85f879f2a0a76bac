"""Assemble the program sets used to learn the coreset and to benchmark tuning.

Nothing here is committed: programs are generated or unpacked from Debian and PyPI
packages when this runs. The two sets never share a program:

  train/  coreset training: csmith seeds 100000+, GCC torture *compile* tests, and the
          C files of real libraries vendored in other PyPI sdists (cmark-gfm, xxHash),
          listed in train_files.txt with their include directories in train_includes.txt
  bench/  evaluation: GCC torture *execute* tests, csmith seeds 1+, and the C files
          of real libraries vendored in PyPI source distributions (lz4, brotli),
          listed in real_files.txt

Usage: python benchmarks/program_sets.py OUT_DIR [--train-csmith 120] [--train-torture 150]
       [--bench-torture 40] [--bench-csmith 15]
Needs: apt-get install csmith libcsmith-dev gcc-12-source
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

GCC_TARBALL = "/usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz"
TORTURE = "gcc/testsuite/gcc.c-torture/"
CSMITH_FLAGS = ["--max-funcs", "6", "--max-block-depth", "3", "--no-packed-struct"]
#: PyPI sdists and the directories of the C library each vendors (Python bindings excluded).
SDISTS = {
    "lz4": ("lz4==4.3.3", ("lz4libs",)),
    "brotli": ("Brotli==1.1.0", ("c/common", "c/dec", "c/enc")),
}
#: The same for the training set: libraries that are not in the benchmark set.
TRAIN_SDISTS = {
    "cmarkgfm": ("cmarkgfm==2024.11.20", ("third_party/cmark/src", "third_party/cmark/extensions")),
    "xxhash": ("xxhash==3.5.0", ("deps/xxhash",)),
}


def library_files(root: Path, name: str) -> list[Path]:
    """The C files of a vendored library under an unpacked sdist."""
    keep = {**SDISTS, **TRAIN_SDISTS}[name][1]
    return sorted(
        p
        for p in (root / name).rglob("*.c")
        if any(f"/{d}/" in p.as_posix() for d in keep) and p.name != "main.c"
    )


def torture(kind: str, count: int, seed: int) -> dict[str, bytes]:
    """A seeded sample of torture tests of one kind that compile alone."""
    with tarfile.open(GCC_TARBALL) as tar:
        members = []
        for m in tar.getmembers():
            parts = m.name.split(f"{TORTURE}{kind}/", 1)
            if len(parts) == 2 and parts[1].endswith(".c") and "/" not in parts[1]:
                members.append(m)
        members.sort(key=lambda m: m.name)
        random.Random(seed).shuffle(members)
        out = {}
        for m in members:
            if len(out) >= count:
                break
            data = tar.extractfile(m).read()
            if _compiles(data, m.name):
                out[Path(m.name).name] = data
        return out


def _compiles(source: bytes, name: str, flags=()) -> bool:
    with tempfile.NamedTemporaryFile(suffix=".c") as f:
        f.write(source)
        f.flush()
        proc = subprocess.run(
            ["clang-19", "-c", "-w", "-Oz", *flags, f.name, "-o", "/dev/null"], capture_output=True
        )
        return proc.returncode == 0


def csmith(seeds: range) -> dict[str, bytes]:
    out = {}
    with tempfile.TemporaryDirectory() as scratch:  # csmith writes platform.info to its cwd
        for seed in seeds:
            proc = subprocess.run(
                ["csmith", "--seed", str(seed), *CSMITH_FLAGS],
                capture_output=True,
                check=True,
                cwd=scratch,
            )
            out[f"csmith_{seed}.c"] = proc.stdout
    return out


def sdist_sources(name: str, spec: str, dest: Path) -> list[Path]:
    """Download a PyPI sdist, unpack it, and return the C files of its vendored library."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-d",
                tmp,
                spec,
            ],
            check=True,
        )
        (archive,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(dest / name, filter="data")
    return library_files(dest, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train-csmith", type=int, default=120)
    parser.add_argument("--train-torture", type=int, default=150)
    parser.add_argument("--bench-torture", type=int, default=40)
    parser.add_argument("--bench-csmith", type=int, default=15)
    args = parser.parse_args()
    train, bench = args.out / "train", args.out / "bench"
    for d in (train, bench):
        d.mkdir(parents=True, exist_ok=True)
    sets = {
        train: {
            **csmith(range(100000, 100000 + args.train_csmith)),
            **torture("compile", args.train_torture, seed=1),
        },
        bench: {
            **csmith(range(1, 1 + args.bench_csmith)),
            **torture("execute", args.bench_torture, seed=2),
        },
    }
    for directory, files in sets.items():
        for name, data in files.items():
            (directory / name).write_bytes(data)
    real = args.out / "real"
    libs = []
    for name, (spec, _) in SDISTS.items():
        libs += sdist_sources(name, spec, real)
    (args.out / "real_files.txt").write_text("\n".join(map(str, libs)) + "\n")
    train_libs = []
    for name, (spec, _) in TRAIN_SDISTS.items():
        train_libs += sdist_sources(name, spec, args.out / "train_real")
    (args.out / "train_files.txt").write_text("\n".join(map(str, train_libs)) + "\n")
    generated = (args.out / "train_real").rglob("generated/unix")  # cmark's configured headers
    includes = sorted({str(p.parent) for p in train_libs} | {str(p) for p in generated})
    (args.out / "train_includes.txt").write_text("".join(f"-I {d} " for d in includes) + "\n")
    print(
        f"train: {len(sets[train])} programs in {train}, plus {len(train_libs)} library files "
        f"listed in {args.out / 'train_files.txt'}"
    )
    print(
        f"bench: {len(sets[bench])} programs in {bench}, plus {len(libs)} library files "
        f"listed in {args.out / 'real_files.txt'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
