"""Bad inputs, run through real `llmc` processes: every one must end in clear errors.

Makes a folder of hostile and careless inputs (random bytes as .ll/.bc/.c, truncated
bitcode, IR with verifier errors, empty files, a directory named like a source,
/dev/zero, option-like, Unicode and ANSI-escape file names, a large junk file, valid
programs beside them) and runs `llmc size`, `opt`, `optimize`, `inspect` and `narrow`
on each, and on all of them at once. Counted:

  inputs tried, runs, tracebacks in stderr (must be 0), exit statuses outside {0, 1, 2}
  (must be 0), runs past their time limit (must be 0), worker processes left behind
  (must be 0), files written outside the -o target (must be 0), valid inputs that did
  not get their numbers in a mixed batch (must be 0).

Usage: python benchmarks/bad_inputs.py [--random 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
LLMC = [sys.executable, "-m", "llmcompiler"]
TIME_LIMIT = 120.0
VALID_C = "int square(int x) { return x * x; }\nint main(void) { return square(3) - 9; }\n"
BAD_IR = {
    "undefined_value.ll": "define i32 @f() {\n  ret i32 %x\n}\n",
    "no_terminator.ll": "define i32 @f(i32 %a) {\n  %b = add i32 %a, 1\n}\n",
    "type_mismatch.ll": "define i32 @f(i64 %a) {\n  ret i32 %a\n}\n",
    "after_terminator.ll": "define void @f() {\n  ret void\n  ret void\n}\n",
    "bad_phi.ll": (
        "define i32 @f(i1 %c) {\nentry:\n  br i1 %c, label %a, label %b\na:\n  br label %b\n"
        "b:\n  %p = phi i32 [ 1, %a ]\n  ret i32 %p\n}\n"
    ),
    "dominance.ll": (
        "define i32 @f() {\n  %a = add i32 %b, 1\n  %b = add i32 %a, 1\n  ret i32 %a\n}\n"
    ),
}


def make_inputs(work: Path, count: int, rng: random.Random) -> list[str]:
    """Write the bad (and a few good) inputs; return their paths as llmc is given them."""
    paths: list[str] = []
    good = work / "good.c"
    good.write_text(VALID_C)
    bitcode = work / "good.bc"
    subprocess.run(
        ["clang-19", "-c", "-emit-llvm", "-O0", str(good), "-o", str(bitcode)], check=True
    )
    data = bitcode.read_bytes()
    for i in range(count):
        for suffix in (".ll", ".bc", ".c"):
            path = work / f"random_{i}{suffix}"
            path.write_bytes(rng.randbytes(rng.randint(1, 4096)))
            paths.append(str(path))
        cut = work / f"truncated_{i}.bc"
        cut.write_bytes(data[: rng.randint(1, len(data) - 1)])
        paths.append(str(cut))
    for name, text in BAD_IR.items():
        (work / name).write_text(text)
        paths.append(str(work / name))
    for name in ("empty.c", "empty.ll", "empty.bc"):
        (work / name).write_bytes(b"")
        paths.append(str(work / name))
    (work / "folder.c").mkdir()
    paths += [str(work / "folder.c"), "/dev/zero", str(work / "missing.c")]
    for name in ("--config=evil.cfg.c", "-fplugin=x.so.c", "ünïcödé ✓.c", "a\x1b[31mred.c"):
        (work / name).write_text(VALID_C)
        paths.append(name)  # relative: llmc runs in work
    (work / "binary.ll").write_bytes(b"\x00\x01\x02ELF" * 100)
    (work / "large.ll").write_bytes(b"junk " * (10 * 1024 * 1024 // 5))
    paths += [str(work / "binary.ll"), str(work / "large.ll"), str(good), str(bitcode)]
    return paths


def workers() -> set[int]:
    """PIDs of llmcompiler worker processes running now."""
    out = set()
    for p in psutil.process_iter(["cmdline"]):
        if any("llmcompiler.engine" in part for part in p.info["cmdline"] or ()):
            out.add(p.pid)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--random", type=int, default=5, help="random files of each kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    counts = dict.fromkeys(
        (
            "inputs",
            "runs",
            "tracebacks",
            "bad_exit_status",
            "over_time_limit",
            "leaked_workers",
            "stray_files",
            "valid_not_measured",
        ),
        0,
    )
    env = {**os.environ, "LLMC_CACHE": "", "PYTHONPATH": str(ROOT / "src")}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="llmc-bad-") as tmp:
        work = Path(tmp)
        paths = make_inputs(work, args.random, random.Random(args.seed))
        counts["inputs"] = len(paths)
        out = work / "out.o"
        commands = [
            ["size"],
            ["opt", "-p", "function(sroa),globaldce"],
            ["optimize", "--evaluations", "5", "--no-model"],
            ["inspect"],
            ["narrow"],
        ]
        # options first, then "--": a file named like an option is a file (as for any CLI)
        runs = [[*c, "--", p] for c in commands for p in paths if c[0] not in ("inspect", "narrow")]
        runs += [[c[0], "--", p] for c in commands[3:] for p in paths]
        runs += [
            ["size", "--json", "--", *paths],
            ["opt", "-p", "sroa", "-o", str(out), "--", paths[0]],
        ]
        before = set(os.listdir(work))
        already = workers()
        for argv in runs:
            counts["runs"] += 1
            t0 = time.monotonic()
            try:
                proc = subprocess.run(
                    [*LLMC, *argv],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    timeout=TIME_LIMIT,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                counts["over_time_limit"] += 1
                continue
            err = proc.stderr.decode("utf-8", "replace")
            if "Traceback" in err:
                counts["tracebacks"] += 1
                print(f"traceback: llmc {argv!r}\n{err[-2000:]}", file=sys.stderr)
            if proc.returncode not in (0, 1, 2):
                counts["bad_exit_status"] += 1
                print(f"exit {proc.returncode}: llmc {argv!r}", file=sys.stderr)
            if time.monotonic() - t0 > TIME_LIMIT:
                counts["over_time_limit"] += 1
            if argv[:2] == ["size", "--json"]:
                try:
                    rows = json.loads(proc.stdout)
                except ValueError:
                    rows = []
                    print(f"no JSON from llmc {argv[:2]!r}: {err[-500:]}", file=sys.stderr)
                good = [r for r in rows if r["file"].endswith(("good.c", "good.bc"))]
                counts["valid_not_measured"] += sum("error" in r for r in good) + (2 - len(good))
        time.sleep(1.0)
        counts["leaked_workers"] = len(workers() - already)
        stray = set(os.listdir(work)) - before - {"out.o"}
        counts["stray_files"] = len(stray)
        if stray:
            print(f"stray files: {sorted(stray)}", file=sys.stderr)
    counts["seconds"] = round(time.monotonic() - start, 1)
    print("  ".join(f"{k} {v}" for k, v in counts.items()))
    failed = sum(v for k, v in counts.items() if k not in ("inputs", "runs", "seconds"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
