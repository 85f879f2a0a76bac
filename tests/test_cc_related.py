"""A module compiled again with other code generation options (a library's PIC and
non-PIC objects of one file) reuses the list found for it instead of searching again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.driver.db import Entry, Key, TuningDB

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "checksum.c"
TRIPLE = "x86_64-pc-linux-gnu"


def test_related_lists_same_module_then_same_source(tmp_path):
    with TuningDB(tmp_path / "t.sqlite") as db:
        pic = Key("m1", TRIPLE, "-fPIC", "size")
        db.store(pic, Entry("function(mem2reg),default<Oz>", 90, 100))
        other = Key("m2", TRIPLE, "", "size")  # same file, other flags: another hash
        db.store(other, Entry("default<Oz>,mergefunc", 95, 100))
        db.store(Key("m3", TRIPLE, "", "size"), Entry("default<Oz>", 100, 100))
        row = {"cwd": "/src/lib", "compiler": "cc", "argv": [], "output": "x.o"}
        db.log(
            {
                **row,
                "source": "odd_%name.c",
                "hash": "m2",
                "triple": TRIPLE,
                "codegen": "",
                "objective": "size",
                "outcome": "miss",
            }
        )
        db.log(
            {
                **row,
                "source": "oddXYname.c",
                "hash": "m3",
                "triple": TRIPLE,
                "codegen": "",
                "objective": "size",
                "outcome": "miss",
            }
        )
        key = Key("m1", TRIPLE, "", "size")
        # the same module's list (10 bytes saved) before the same source's (5): -Oz never
        assert db.related(key, "/src/lib/odd_%name.c") == [
            "function(mem2reg),default<Oz>",
            "default<Oz>,mergefunc",
        ]
        # LIKE's wildcards in a file name match only themselves
        assert db.related(Key("zz", TRIPLE, "", "size"), "/src/lib/odd_%name.c") == [
            "default<Oz>,mergefunc"
        ]
        assert db.related(Key("zz", TRIPLE, "", "size"), "/src/other/odd_%name.c") == []
        assert db.related(Key("m1", TRIPLE, "", "instcount"), "/src/lib/odd_%name.c") == []


@pytest.mark.skipif(shutil.which("clang-19") is None, reason="clang-19 is not installed")
def test_pic_then_non_pic_reuses_the_list(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "checksum.c")
    env = {**os.environ, "LLMC_CC_DB": str(tmp_path / "t.sqlite"), "LLMC_CC_BUDGET": "2"}
    env.pop("LLMC_CC_FAIL", None)
    for flags in (["-fPIC", "-o", "pic.o"], ["-o", "plain.o"]):
        argv = [str(BIN / "llmc"), "cc", "-Oz", "-c", "checksum.c", *flags]
        subprocess.run(argv, cwd=tmp_path, env=env, check=True, capture_output=True)
    with TuningDB(env["LLMC_CC_DB"]) as db:
        entries = {e.source: e for _, e in db.entries()}
        first, second = db.compiles()
    assert entries["search"].size < entries["search"].oz_size  # the demo's file gains
    assert second["outcome"] == "miss" and "related module" in second["message"]
    assert entries["related"].pipeline == entries["search"].pipeline
    assert entries["related"].size < entries["related"].oz_size
    assert second["seconds"] < first["seconds"]
    # the reused object is what the list gives with the command's own flags
    plain = (
        subprocess.run(
            ["llvm-size-19", "plain.o"], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        .stdout.splitlines()[1]
        .split()
    )
    assert int(plain[0]) + int(plain[1]) == entries["related"].size
