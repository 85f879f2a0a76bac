"""``llmc cc`` under a configure script that autoconf, automake and libtool generate:
the probes pass through to clang, libtool's PIC and non-PIC compiles are ours, and the
shared library and the program it links work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.driver.db import TuningDB

LLMC = str(Path(sys.executable).parent / "llmc")

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("autoreconf", "libtoolize", "make")),
    reason="needs autoconf, automake, libtool and make",
)

CONFIGURE_AC = """\
AC_INIT([shapes], [1.0])
AM_INIT_AUTOMAKE([foreign])
AC_PROG_CC
LT_INIT
AC_CHECK_HEADERS([stdint.h string.h])
AC_CHECK_FUNCS([strlen])
AC_CONFIG_HEADERS([config.h])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
"""
MAKEFILE_AM = """\
lib_LTLIBRARIES = libshapes.la
libshapes_la_SOURCES = shapes.c
bin_PROGRAMS = prog
prog_SOURCES = main.c
prog_LDADD = libshapes.la
"""
SHAPES = """\
#include "config.h"
#include <string.h>
unsigned shape_hash(const char *s) {
    unsigned h = 5381;
    for (size_t i = 0; i < strlen(s); i++) h = h * 33 + (unsigned char)s[i];
    return h;
}
int shape_sides(const char *name) {
    static const char *names[] = {"triangle", "square", "pentagon", "hexagon"};
    for (int i = 0; i < 4; i++) if (strcmp(names[i], name) == 0) return i + 3;
    return 0;
}
"""
MAIN = """\
#include <stdio.h>
unsigned shape_hash(const char *s);
int shape_sides(const char *name);
int main(void) {
    printf("%u %d %d\\n", shape_hash("hexagon"), shape_sides("square"), shape_sides("x"));
    return 0;
}
"""


def run(argv, cwd, env=None):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{argv}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc


def test_configure_and_libtool_build(tmp_path):
    src = tmp_path / "shapes"
    src.mkdir()
    for name, text in (
        ("configure.ac", CONFIGURE_AC),
        ("Makefile.am", MAKEFILE_AM),
        ("shapes.c", SHAPES),
        ("main.c", MAIN),
    ):
        (src / name).write_text(text)
    run(["autoreconf", "-i"], src)
    env = {**os.environ, "LLMC_CC_DB": str(tmp_path / "t.sqlite"), "LLMC_CC_BUDGET": "0.3"}
    env.pop("LLMC_CC_FAIL", None)
    configured = run(["./configure", f"CC={LLMC} cc", "CFLAGS=-O2"], src, env).stdout
    assert "checking whether the C compiler works... yes" in configured
    assert "#define HAVE_STRLEN 1" in (src / "config.h").read_text()
    made = run(["make", "-j2"], src, env)
    assert "warning" not in made.stderr
    said = run(["./prog"], src).stdout  # libtool's wrapper: the built shared library
    reference = run(["cc", "-O0", "shapes.c", "main.c", "-o", "ref", "-I."], src)
    assert reference.returncode == 0 and said == run(["./ref"], src).stdout
    with TuningDB(env["LLMC_CC_DB"]) as db:
        rows = db.compiles()
    # every configure probe passed through; libtool compiled shapes.c twice (PIC and
    # not), main.c once: all ours
    names = sorted(Path(r["source"]).name for r in rows)
    assert names == ["main.c", "shapes.c", "shapes.c"]
    assert {r["outcome"] for r in rows} <= {"miss", "hit"}
    assert {r["codegen"] for r in rows if r["source"].endswith("shapes.c")} >= {"-fPIC"}
