"""``llmc cc -flto``: whole-program mode with real clang-19, make, archives and a shared
library; and the classification of LTO command lines (llmcompiler.driver.link)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.driver.argv import PASSTHROUGH
from llmcompiler.driver.db import TuningDB
from llmcompiler.driver.link import LINK, classify_link, lto_mode, without_lto
from llmcompiler.llvm.toolchain import llvm_size, tool

LLMC = str(Path(sys.executable).parent / "llmc")
CLANG = tool("clang")

#: the program: three C files with static functions, a function used only from another
#: file, one used by no one, a global table (benchmarks/cc_lto.py builds it too)
PROGRAM = Path(__file__).parent / "fixtures" / "lto_program"
SOURCES = {name: (PROGRAM / name).read_text() for name in ("table.c", "text.c", "main.c")}
MAKEFILE = """\
OBJS = main.o text.o table.o
prog: $(OBJS)
\t$(CC) $(LDFLAGS) $(OBJS) -o prog
%.o: %.c
\t$(CC) $(CFLAGS) -MMD -c $< -o $@
clean:
\trm -f prog *.o *.d
-include $(OBJS:.o=.d)
"""
BITCODE = b"BC\xc0\xde"


@pytest.fixture
def project(tmp_path):
    """The program of :data:`PROGRAM`, with a Makefile of -MMD rules and LDFLAGS."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "table.h").write_text((PROGRAM / "table.h").read_text())
    for name, text in SOURCES.items():
        (root / name).write_text(text)
    (root / "Makefile").write_text(MAKEFILE)
    return root


@pytest.fixture
def env(tmp_path):
    out = dict(os.environ)
    out.update(LLMC_CC_DB=str(tmp_path / "tuning.sqlite"), LLMC_CC_BUDGET="0.5")
    out.pop("LLMC_CC_FAIL", None)
    return out


def run(argv, cwd, env=None, check=True):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"{argv} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def make(project, env, cc, cflags, ldflags):
    return run(["make", "-j2", f"CC={cc}", f"CFLAGS={cflags}", f"LDFLAGS={ldflags}"], project, env)


def size(path) -> int:
    text, data, _ = llvm_size(path)
    return text + data


def links(env) -> list[dict]:
    with TuningDB(env["LLMC_CC_DB"]) as db:
        return [r for r in db.compiles() if r["output"] in ("prog", "libshape.so")]


def clang_builds(project, env) -> tuple[str, int]:
    """The output of the clang -Oz build and the size of the clang -Oz -flto one."""
    make(project, env, CLANG, "-Oz", "")
    expected = run(["./prog"], project).stdout
    run(["make", "clean"], project)
    make(project, env, CLANG, "-Oz -flto", "-Oz -flto")
    lto_size = size(project / "prog")
    run(["make", "clean"], project)
    return expected, lto_size


def test_make_build_whole_program(project, env):
    expected, clang_lto = clang_builds(project, env)
    assert "-1035" in expected

    built = make(project, env, f"{LLMC} cc", "-flto -O2", "-flto")
    assert "warning" not in built.stderr
    for name in SOURCES:
        obj = project / name.replace(".c", ".o")
        assert obj.read_bytes()[:4] == BITCODE
        run([tool("llvm-bcanalyzer"), str(obj)], project)  # valid bitcode
        deps = (project / name.replace(".c", ".d")).read_text()
        assert deps.startswith(name.replace(".c", ".o:")) and "table.h" in deps
    assert run(["./prog"], project).stdout == expected
    ours = size(project / "prog")
    assert ours <= clang_lto
    (row,) = links(env)
    assert row["outcome"] == "miss" and row["size"] == ours
    # the smaller of clang's LTO links of the same bitcode, one of them the program a
    # clang -Oz -flto build makes
    assert ours <= row["oz_size"] <= clang_lto
    assert row["argv"][-2:] == ["-o", "prog"]
    # the program is whole: what no one uses is gone, the rest is internal
    symbols = run([tool("llvm-nm"), "prog"], project).stdout
    assert "unused_helper" not in symbols and " T parse_int" not in symbols

    # the objects are what clang's LTO takes: clang -flto links them too
    run([CLANG, "-flto", "-Oz", "main.o", "text.o", "table.o", "-o", "clang-prog"], project)
    assert run(["./clang-prog"], project).stdout == expected

    # relinking the same program is a hit, and the same program
    (project / "prog").unlink()
    make(project, env, f"{LLMC} cc", "-flto -O2", "-flto")
    assert run(["./prog"], project).stdout == expected
    assert size(project / "prog") == ours
    assert [r["outcome"] for r in links(env)] == ["miss", "hit"]


def test_forced_failure_falls_back_with_one_warning(project, env):
    expected, _ = clang_builds(project, env)
    env["LLMC_CC_FAIL"] = "1"
    built = make(project, env, f"{LLMC} cc", "-flto", "-flto")
    warnings = [ln for ln in built.stderr.splitlines() if "warning" in ln]
    assert warnings == [
        "llmc cc: warning: prog: forced failure (LLMC_CC_FAIL=1); linked with clang -flto -Oz"
    ]
    assert (project / "main.o").read_bytes()[:4] == BITCODE
    assert run(["./prog"], project).stdout == expected
    assert [r["outcome"] for r in links(env)] == ["fallback"]


def test_user_link_error_is_clangs(project, env):
    main = SOURCES["main.c"].replace("crc(out)", "missing(out)")
    (project / "main.c").write_text("unsigned missing(const char *);\n" + main)
    for name in SOURCES:
        run([LLMC, "cc", "-flto", "-c", name], project, env)
    proc = run([LLMC, "cc", "-flto", "main.o", "text.o", "table.o"], project, env, check=False)
    assert proc.returncode != 0
    assert "missing" in proc.stderr and "llmc" not in proc.stderr
    assert not (project / "a.out").exists()
    assert [r["outcome"] for r in links_of(env, "a.out")] == ["error"]


def links_of(env, output):
    with TuningDB(env["LLMC_CC_DB"]) as db:
        return [r for r in db.compiles() if r["output"] == output]


NATIVE = """\
int parse_int(const char *s);
/* native code that calls into the bitcode: parse_int must stay public */
int native_parse_twice(const char *s) { return 2 * parse_int(s); }
"""
DUPLICATE = """\
/* never taken from the archive: text.o, before it, defines parse_int already */
int parse_int(const char *s) { return s[0]; }
"""
ARCHIVE_MAIN = """\
#include <stdio.h>
#include "table.h"
int native_parse_twice(const char *s);
int main(void) { printf("%d %04x\\n", native_parse_twice("21"), crc("x")); return 0; }
"""


def test_bitcode_archive_and_native_object(project, env):
    (project / "main.c").write_text(ARCHIVE_MAIN)
    (project / "native.c").write_text(NATIVE)
    (project / "duplicate.c").write_text(DUPLICATE)
    for name in ("main.c", "text.c", "table.c", "duplicate.c"):
        run([LLMC, "cc", "-flto", "-Os", "-c", name], project, env)
    run([CLANG, "-Oz", "-c", "native.c"], project)  # a native object
    ar = tool("llvm-ar")
    run([ar, "rcs", "libutil.a", "text.o", "duplicate.o", "table.o"], project)
    proc = run([LLMC, "cc", "-flto", "main.o", "native.o", "libutil.a", "-o", "prog"], project, env)
    assert "warning" not in proc.stderr
    assert run(["./prog"], project).stdout.startswith("42 ")
    (row,) = links(env)
    assert row["outcome"] == "miss"
    assert "of 3 bitcode files" in row["message"]  # main.o, text.o and table.o


def test_mixed_archive_of_bitcode_and_native_members(project, env):
    # as zlib-ng builds libz-ng.a: most files with -flto, its SIMD files with -fno-lto
    (project / "main.c").write_text(ARCHIVE_MAIN)
    (project / "native.c").write_text(NATIVE)
    for name in ("main.c", "text.c", "table.c"):
        run([LLMC, "cc", "-flto", "-Os", "-c", name], project, env)
    run([LLMC, "cc", "-flto", "-fno-lto", "-Os", "-c", "native.c"], project, env)
    assert not (project / "native.o").read_bytes().startswith(BITCODE)
    run([tool("llvm-ar"), "rcs", "libmixed.a", "native.o", "text.o", "table.o"], project)
    proc = run([LLMC, "cc", "-flto", "main.o", "libmixed.a", "-o", "prog"], project, env)
    assert "warning" not in proc.stderr
    assert run(["./prog"], project).stdout.startswith("42 ")
    (row,) = links(env)
    assert row["outcome"] == "miss" and "of 3 bitcode files" in row["message"]


def test_version_script_naming_a_symbol_the_program_drops(project, env):
    # lld refuses a version script that names a symbol no longer defined, unless told
    (project / "shape.c").write_text(SHAPE + 'const char shape_copyright[] = "(c)";\n')
    (project / "shape.map").write_text("{ global: area; local: *; shape_copyright; };\n")
    run([LLMC, "cc", "-flto", "-fPIC", "-c", "shape.c"], project, env)
    link = ["-shared", "-fuse-ld=lld", "-Wl,--version-script=shape.map"]
    proc = run([LLMC, "cc", "-flto", *link, "shape.o", "-o", "libshape.so"], project, env)
    assert "warning" not in proc.stderr
    exported = run([tool("llvm-nm"), "-D", "--defined-only", "libshape.so"], project).stdout
    assert " area" in exported and "shape_copyright" not in exported
    assert [r["outcome"] for r in links(env)] == ["miss"]


SHAPE = """\
static double square(double x) { return x * x; }
__attribute__((visibility("hidden"))) double hidden_helper(double r) { return 3.14159 * r; }
double area(double r) { return hidden_helper(square(r)); }
"""
SHAPE_MAIN = """\
#include <stdio.h>
double area(double r);
int main(void) { printf("%.2f\\n", area(2.0)); return 0; }
"""


def test_shared_library_keeps_its_exports(project, env):
    (project / "shape.c").write_text(SHAPE)
    (project / "use.c").write_text(SHAPE_MAIN)
    run([LLMC, "cc", "-flto", "-fPIC", "-c", "shape.c"], project, env)
    run([LLMC, "cc", "-flto", "-shared", "shape.o", "-o", "libshape.so"], project, env)
    exported = run([tool("llvm-nm"), "-D", "--defined-only", "libshape.so"], project).stdout
    assert " area" in exported and "hidden_helper" not in exported
    run([CLANG, "use.c", "-L.", "-lshape", "-Wl,-rpath,.", "-o", "use"], project)
    assert run(["./use"], project).stdout == "12.57\n"
    assert [r["outcome"] for r in links(env)] == ["miss"]


def test_not_ours_passes_through(project, env):
    # sources compiled and linked in one command: clang's own LTO
    proc = run([LLMC, "cc", "-flto", "-Oz", *SOURCES, "-o", "prog"], project, env)
    assert proc.stderr == ""
    assert "-1035" in run(["./prog"], project).stdout
    assert run([LLMC, "cc", "-flto", "--version"], project, env).stdout.startswith(
        ("clang version", "Debian clang", "Ubuntu clang")
    )
    assert not Path(env["LLMC_CC_DB"]).exists()


def parse(line: str):
    return classify_link(shlex.split(line))


def test_lto_mode_last_option_counts():
    assert lto_mode(["-flto", "-c", "x.c"])
    assert lto_mode(["-flto=thin", "x.o"]) and lto_mode(["-flto=full", "x.o"])
    assert not lto_mode(["-flto", "-fno-lto", "x.o"])
    assert lto_mode(["-fno-lto", "-flto=auto", "x.o"])
    assert not lto_mode(["-o", "-flto", "x.o"])  # a value, not an option
    assert not lto_mode(["-flto-jobs=4", "x.o"])
    assert without_lto(["-O2", "-flto=thin", "-c", "x.c"]) == ["-O2", "-c", "x.c"]


def test_classify_link():
    link = parse("-flto -O2 -g a.o lib/libx.a -L/opt/lib -lm -Wl,--gc-sections -o bin/prog")
    assert link.kind == LINK
    assert link.inputs == ((3, "a.o"), (4, "lib/libx.a"))
    assert link.output == "bin/prog" and link.opt_level == "-O2" and link.lto == (0,)
    assert link.codegen == ("-g",)
    assert link.rewrite({*link.lto, *link.outputs}) == [
        *("-O2", "-g", "a.o", "lib/libx.a", "-L/opt/lib", "-lm", "-Wl,--gc-sections")
    ]
    link = parse("-flto -shared -march=x86-64-v2 -ffunction-sections -fuse-ld=lld x.o -olibx.so")
    assert link.shared and link.output == "libx.so"
    assert link.codegen == ("-march=x86-64-v2", "-ffunction-sections", "-fPIC")
    assert parse("-flto -no-pie x.o").codegen == ("-fno-pic",)
    assert parse("-flto -Wl,--whole-archive libx.a -Wl,--no-whole-archive").whole_archive


@pytest.mark.parametrize(
    "line",
    [
        "-flto a.c b.o -o prog",  # compiles a source first
        "-flto -r a.o b.o -o ab.o",
        "-flto -E a.c",
        "-flto @args.rsp",
        "-flto",
        "-flto conftest.o -o conftest",
        "-flto -fsanitize=address a.o",
        "-flto -x ir a.bc",
        "-flto a.o -o /dev/null",
    ],
)
def test_classify_link_passthrough(line):
    assert parse(line).kind == PASSTHROUGH
