"""``llmc cc --target=...`` in a make build for another architecture: the objects are
tuned for that target (its triple in the database), link with lld, and the program
prints under qemu-user what the clang -Oz build prints."""

from __future__ import annotations

import pytest

from llmcompiler.driver.db import TuningDB
from llmcompiler.llvm.runtime import runtime_for
from test_cc import CLANG, LLMC, make, run
from test_cc import env as env  # noqa: F401 - the fixtures
from test_cc import project as project  # noqa: F401


@pytest.mark.parametrize("triple", ["aarch64-linux-gnu", "riscv64-linux-gnu"])
def test_cross_make_build_runs_under_qemu(project, env, triple):  # noqa: F811
    runtime = runtime_for(triple)
    if runtime is None:
        pytest.skip(f"cannot link and run {triple} programs here")
    flags = [f for f in runtime.link[1:] if f != "-fuse-ld=lld"]
    cc = " ".join([CLANG, *flags])
    make(project, env, "CFLAGS=-Oz", cc=f"{cc} -fuse-ld=lld")
    expected = run([*runtime.prefix, "./prog"], project).stdout
    assert "alpha" in expected
    run(["make", "clean"], project)
    make(project, env, "CFLAGS=-O2", cc=" ".join([LLMC, "cc", *flags, "-fuse-ld=lld"]))
    assert run([*runtime.prefix, "./prog"], project).stdout == expected
    with TuningDB(env["LLMC_CC_DB"]) as db:
        rows = db.compiles()
    assert len(rows) == 3 and {r["outcome"] for r in rows} <= {"miss", "hit"}
    assert all(r["triple"].startswith(triple.split("-")[0]) for r in rows)
    machine = run(["llvm-readelf-19", "-h", "util.o"], project).stdout
    assert ("AArch64" if triple.startswith("aarch64") else "RISC-V") in machine
