"""``llmc cc`` in real builds: real clang-19, real make (and CMake), a real tuning database."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmcompiler.cli import main as llmc_main
from llmcompiler.driver.db import Entry, Key, TuningDB
from llmcompiler.errors import LLMCError
from llmcompiler.llvm.toolchain import tool

BIN = Path(sys.executable).parent
LLMC = str(BIN / "llmc")
CLANG = tool("clang")

HEADER = """\
#ifndef UTIL_H
#define UTIL_H
unsigned checksum(const char *s);
int fib(int n);
double area(int sides, double r);
#endif
"""
SOURCES = {
    "main.c": """\
#include <stdio.h>
#include "util.h"
int main(void) {
    const char *words[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++)
        printf("%s %u %d\\n", words[i], checksum(words[i]), fib(i + 10));
    printf("%.3f\\n", area(6, 2.0));
    return 0;
}
""",
    "util.c": """\
#include "util.h"
unsigned checksum(const char *s) {
    unsigned h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h;
}
int fib(int n) {
    int a = 0, b = 1;
    for (int i = 0; i < n; i++) { int t = a + b; a = b; b = t; }
    return a;
}
""",
    "shapes.c": """\
#include "util.h"
static double table[16];
static double sine(double x) {
    double term = x, sum = x;
    for (int k = 1; k < 12; k++) { term *= -x * x / ((2 * k) * (2 * k + 1)); sum += term; }
    return sum;
}
double area(int sides, double r) {
    for (int i = 0; i < 16; i++) table[i] = sine(i * 0.1);
    double s = 0;
    for (int i = 0; i < sides; i++) s += table[i % 16];
    return sides * r * r * sine(6.283185307179586 / sides) / 2 + s * 0;
}
""",
}
MAKEFILE = """\
CFLAGS ?= -O2 -g
OBJS = main.o util.o shapes.o
prog: $(OBJS)
\t$(CC) $(OBJS) -o prog
%.o: %.c
\t$(CC) $(CFLAGS) -MMD -c $< -o $@
clean:
\trm -f prog *.o *.d
-include $(OBJS:.o=.d)
"""


@pytest.fixture
def project(tmp_path):
    """A small C project: three sources, a header, a Makefile with -MMD rules."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "util.h").write_text(HEADER)
    for name, text in SOURCES.items():
        (root / name).write_text(text)
    (root / "Makefile").write_text(MAKEFILE)
    return root


@pytest.fixture
def env(tmp_path):
    """The environment of a build with its own tuning database and a small budget."""
    out = dict(os.environ)
    out.update(LLMC_CC_DB=str(tmp_path / "tuning.sqlite"), LLMC_CC_BUDGET="0.5")
    out.pop("LLMC_CC_FAIL", None)
    return out


def run(argv, cwd, env=None, check=True):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"{argv} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def make(project, env, *args, cc=f"{LLMC} cc"):
    start = time.monotonic()
    proc = run(["make", "-j4", f"CC={cc}", *args], project, env)
    return proc, time.monotonic() - start


def outcomes(env) -> list[str]:
    with TuningDB(env["LLMC_CC_DB"]) as db:
        return [r["outcome"] for r in db.compiles()]


def test_make_build_cold_then_warm(project, env):
    make(project, env, f"CC={CLANG}", "CFLAGS=-Oz")
    expected = run(["./prog"], project).stdout
    assert "alpha" in expected
    clang_deps = {n: (project / n.replace(".c", ".d")).read_text() for n in SOURCES}
    run(["make", "clean"], project)

    _, cold = make(project, env)
    assert run(["./prog"], project).stdout == expected
    for name in SOURCES:  # each .d file names its own object and the header
        deps = (project / name.replace(".c", ".d")).read_text()
        target = name.replace(".c", ".o")
        assert deps.startswith(f"{target}:"), deps
        assert name in deps
    assert "util.h" in (project / "util.d").read_text()
    assert {n: (project / n.replace(".c", ".d")).read_text() for n in SOURCES} == clang_deps
    assert sorted(outcomes(env)) == ["miss"] * 3
    with TuningDB(env["LLMC_CC_DB"]) as db:
        rows = db.compiles()
        entries = db.entries()
    assert {r["output"] for r in rows} == {"main.o", "util.o", "shapes.o"}
    assert all(r["cwd"] == str(project) and "-MMD" in r["argv"] for r in rows)
    assert len(entries) == 3
    for key, entry in entries:
        assert key.codegen == "-g" and key.objective == "size"
        assert entry.size <= entry.oz_size  # never worse than clang -Oz
    objects = {n: (project / n.replace(".c", ".o")).read_bytes() for n in SOURCES}

    run(["make", "clean"], project)
    _, warm = make(project, env)
    assert outcomes(env)[3:] == ["hit"] * 3
    assert run(["./prog"], project).stdout == expected
    # a hit compiles the module exactly as the miss did
    assert {n: (project / n.replace(".c", ".o")).read_bytes() for n in SOURCES} == objects
    assert warm < cold


def test_compile_error_is_clangs(project, env):
    (project / "bad.c").write_text("int f(void) { return x; }\n")
    ours = run([LLMC, "cc", "-c", "bad.c", "-o", "bad.o"], project, env, check=False)
    theirs = run([CLANG, "-c", "bad.c", "-o", "bad.o"], project, check=False)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr
    assert "use of undeclared identifier 'x'" in ours.stderr
    assert outcomes(env) == ["error"]


def test_forced_failure_falls_back_and_the_build_works(project, env):
    make(project, env, f"CC={CLANG}", "CFLAGS=-Oz")
    expected = run(["./prog"], project).stdout
    run(["make", "clean"], project)
    proc, _ = make(project, {**env, "LLMC_CC_FAIL": "1"})
    warnings = [ln for ln in proc.stderr.splitlines() if "llmc cc: warning:" in ln]
    assert len(warnings) == 3, proc.stderr
    assert all(
        ln.endswith("forced failure (LLMC_CC_FAIL=1); compiled with clang -Oz") for ln in warnings
    )
    assert run(["./prog"], project).stdout == expected
    assert outcomes(env) == ["fallback"] * 3
    # the fallback is clang -Oz with the user's options (and its .d file)
    run([CLANG, "-Oz", "-g", "-c", "util.c", "-o", "reference.o"], project)
    assert (project / "util.o").read_bytes() == (project / "reference.o").read_bytes()
    assert (project / "util.d").read_text().startswith("util.o:")


def test_real_failures_fall_back(project, env, tmp_path):
    # the database path is a directory
    (tmp_path / "dir.sqlite").mkdir()
    proc = run(
        [LLMC, "cc", "-O2", "-c", "util.c", "-o", "util.o"],
        project,
        {**env, "LLMC_CC_DB": str(tmp_path / "dir.sqlite")},
    )
    (line,) = proc.stderr.splitlines()
    assert line.startswith("llmc cc: warning: util.c: ") and "tuning database" in line
    assert line.endswith("; compiled with clang -Oz")
    oz = run([CLANG, "-Oz", "-c", "util.c", "-o", "oz.o"], project)
    assert oz.returncode == 0
    assert (project / "util.o").read_bytes() == (project / "oz.o").read_bytes()
    # a budget that is not a number
    proc = run([LLMC, "cc", "-c", "util.c"], project, {**env, "LLMC_CC_BUDGET": "soon"})
    assert "LLMC_CC_BUDGET='soon' is not a number of seconds" in proc.stderr
    assert outcomes(env) == ["fallback"]
    # a file that is not a tuning database
    (tmp_path / "other.sqlite").write_text("not sqlite at all " * 100)
    proc = run(
        [LLMC, "cc", "-c", "util.c"], project, {**env, "LLMC_CC_DB": str(tmp_path / "other.sqlite")}
    )
    assert "not an llmc cc tuning database" in proc.stderr


def test_budget_zero_keeps_oz(project, env):
    run([LLMC, "cc", "-c", "util.c"], project, {**env, "LLMC_CC_BUDGET": "0"})
    assert outcomes(env) == ["miss"]
    with TuningDB(env["LLMC_CC_DB"]) as db:
        ((_, entry),) = db.entries()
    assert entry.size <= entry.oz_size


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["-E", "util.c"],
        ["-dumpmachine"],
        ["-c", "nosuch.c"],
        ["-E", "-dM", "-x", "c", "/dev/null"],
    ],
)
def test_passthrough_is_clang(project, env, args):
    ours = run([LLMC, "cc", *args], project, env, check=False)
    theirs = run([CLANG, *args], project, check=False)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )


def test_linking_passes_through(project, env):
    run([CLANG, "-c", "main.c", "util.c", "shapes.c"], project)
    proc = run([LLMC, "cc", "main.o", "util.o", "shapes.o", "-o", "prog", "-lm"], project, env)
    assert proc.stdout == proc.stderr == ""
    assert "alpha" in run(["./prog"], project).stdout
    assert not Path(env["LLMC_CC_DB"]).exists()  # nothing of ours ran


def test_function_sections_and_pic_shared_library(project, env):
    run([LLMC, "cc", "-ffunction-sections", "-fPIC", "-c", "util.c", "-o", "util.o"], project, env)
    headers = run([tool("llvm-objdump"), "--section-headers", "util.o"], project).stdout
    assert ".text.checksum" in headers and ".text.fib" in headers
    run([CLANG, "-shared", "util.o", "-o", "libutil.so"], project)
    symbols = run([tool("llvm-nm"), "-D", "libutil.so"], project).stdout
    assert " T checksum" in symbols and " T fib" in symbols
    with TuningDB(env["LLMC_CC_DB"]) as db:
        ((key, _),) = db.entries()
    assert key.codegen == "-fPIC -ffunction-sections"


def test_cxx_and_launcher_form(project, env):
    (project / "hello.cpp").write_text(
        "#include <cstdio>\ntemplate <class T> T sq(T x) { return x * x; }\n"
        "struct P { int v; int twice() const { return 2 * v; } };\n"
        'int main() { P p{sq(7)}; std::printf("%d\\n", p.twice()); }\n'
    )
    # a launcher is called with the compiler's path first (CMAKE_CXX_COMPILER_LAUNCHER)
    run([str(BIN / "llmc-cc"), tool("clang++"), "-O2", "-c", "hello.cpp"], project, env)
    run([LLMC, "c++", "hello.o", "-o", "hello"], project, env)
    assert run(["./hello"], project).stdout == "98\n"
    with TuningDB(env["LLMC_CC_DB"]) as db:
        (row,) = db.compiles()
    assert (row["compiler"], row["outcome"]) == ("c++", "miss")


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
def test_cmake_with_launcher(project, env, tmp_path):
    (project / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(t C)\n"
        "include(CheckIncludeFile)\ncheck_include_file(stdint.h HAVE_STDINT_H)\n"
        "add_library(util SHARED util.c shapes.c)\n"
        "add_executable(prog main.c)\ntarget_link_libraries(prog util)\n"
    )
    build = tmp_path / "build"
    run(
        [
            "cmake",
            "-S",
            str(project),
            "-B",
            str(build),
            f"-DCMAKE_C_COMPILER={CLANG}",
            f"-DCMAKE_C_COMPILER_LAUNCHER={BIN / 'llmc-cc'}",
        ],
        project,
        env,
    )
    run(["cmake", "--build", str(build), "-j2"], project, env)
    assert "alpha" in run([str(build / "prog")], project).stdout
    with TuningDB(env["LLMC_CC_DB"]) as db:
        rows = db.compiles()
    # CMake's probes passed through; its three objects were ours
    assert sorted(Path(r["source"]).name for r in rows) == ["main.c", "shapes.c", "util.c"]
    assert {r["outcome"] for r in rows} == {"miss"}


def test_llmc_main_dispatches_cc_before_argparse(capsys):
    assert llmc_main(["cc", "-dumpmachine"]) == 0
    assert llmc_main(["c++", "--version"]) == 0


# -- the database --------------------------------------------------------------------


def _worker(path: str, index: int, rounds: int) -> None:
    with TuningDB(path) as db:
        for r in range(rounds):
            shared = Key("shared", "x86_64-pc-linux-gnu", "", "size")
            own = Key(f"module{index}", "x86_64-pc-linux-gnu", "-fPIC", "size")
            db.store(shared, Entry("default<Oz>", size=1000 - index * rounds - r, oz_size=1000))
            db.store(own, Entry(f"p{r}", size=100 - r, oz_size=100))
            assert db.lookup(shared) is not None and db.lookup(own).size <= 100 - r
            db.log(
                {
                    "cwd": "/",
                    "compiler": "cc",
                    "argv": ["-c", f"{index}.c"],
                    "source": f"{index}.c",
                    "output": f"{index}.o",
                    "outcome": "miss",
                }
            )


def test_sixteen_processes_share_one_database(tmp_path):
    path = str(tmp_path / "tuning.sqlite")  # created by the workers, all at once
    rounds = 20
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_worker, args=(path, i, rounds)) for i in range(16)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 16
    with TuningDB(path) as db:
        assert len(db.compiles()) == 16 * rounds
        entries = dict(db.entries())
    assert len(entries) == 17
    best = min(1000 - i * rounds - r for i in range(16) for r in range(rounds))
    assert entries[Key("shared", "x86_64-pc-linux-gnu", "", "size")].size == best
    for i in range(16):
        own = entries[Key(f"module{i}", "x86_64-pc-linux-gnu", "-fPIC", "size")]
        assert (own.pipeline, own.size) == (f"p{rounds - 1}", 100 - rounds + 1)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_keeps_the_better_entry(tmp_path):
    with TuningDB(tmp_path / "t.sqlite") as db:
        key = Key("h", "t", "", "size")
        assert db.store(key, Entry("a", size=10, oz_size=12))
        assert not db.store(key, Entry("b", size=11, oz_size=12))
        assert not db.store(key, Entry("c", size=10, oz_size=12))  # a tie keeps the first
        assert db.store(key, Entry("d", size=9, oz_size=12, source="autotune"))
        assert (db.lookup(key).pipeline, db.lookup(key).source) == ("d", "autotune")
        count = Key("h", "t", "", "instcount")
        db.store(count, Entry("a", size=1, instcount=50))
        assert db.store(count, Entry("b", size=99, instcount=40))
        assert db.lookup(Key("other", "t", "", "size")) is None


def test_not_a_tuning_database(tmp_path):
    text = tmp_path / "text.sqlite"
    text.write_text("hello " * 1000)
    with pytest.raises(LLMCError, match="not an llmc cc tuning database"):
        TuningDB(text)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE programs (hash TEXT)").connection.commit()
    with pytest.raises(LLMCError, match="not an llmc cc tuning database"):
        TuningDB(other)
    with pytest.raises(LLMCError, match="cannot open the tuning database"):
        TuningDB(tmp_path)
    with TuningDB(tmp_path / "new" / "deep" / "t.sqlite") as db:  # folders are made
        db.db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(LLMCError, match="schema 99, expected 1"):
        TuningDB(tmp_path / "new" / "deep" / "t.sqlite")


def _set_pipeline(env, pipeline: str) -> None:
    db = sqlite3.connect(env["LLMC_CC_DB"])
    with db:
        db.execute("UPDATE tuned SET pipeline=?", (pipeline,))
    db.close()


def test_a_hit_applies_the_stored_list_and_falls_back_when_it_fails(project, env):
    run([LLMC, "cc", "-c", "util.c"], project, env)
    # a list with llmcompiler's own step (opt-19 cannot run it) is applied in process
    _set_pipeline(env, "function(mem2reg),llmc-narrow,default<Oz>")
    proc = run([LLMC, "cc", "-c", "util.c"], project, env)
    assert proc.stderr == ""
    # a stored list that LLVM rejects is llmc's failure: the file is compiled at -Oz
    _set_pipeline(env, "function(no-such-pass)")
    proc = run([LLMC, "cc", "-c", "util.c"], project, env)
    (line,) = proc.stderr.splitlines()
    assert line.startswith("llmc cc: warning: util.c: ") and "no-such-pass" in line
    run([CLANG, "-c", "main.c", "shapes.c"], project)
    run([CLANG, "main.o", "util.o", "shapes.o", "-o", "prog"], project)
    assert "alpha" in run(["./prog"], project).stdout
    assert outcomes(env) == ["miss", "hit", "fallback"]
