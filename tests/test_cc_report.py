"""``llmc report``: an llmc cc build against a clang -Oz build of the same project, its
numbers checked against llvm-size-19 and the compile log."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from llmcompiler.cli import main as llmc_main
from llmcompiler.driver.db import TuningDB
from llmcompiler.driver.report import is_linked_elf
from llmcompiler.llvm.toolchain import llvm_size
from test_cc import CLANG, HEADER, LLMC, SOURCES, make, run
from test_json_schemas import check

MAKEFILE = """\
CFLAGS ?= -O2
all: prog libshapes.so libutil.a
prog: main.o util.o shapes.o
\t$(CC) main.o util.o shapes.o -o prog
libshapes.so: shapes.pic.o util.pic.o
\t$(CC) -shared shapes.pic.o util.pic.o -o libshapes.so
libutil.a: util.o
\tar rcs $@ util.o
%.pic.o: %.c
\t$(CC) $(CFLAGS) -fPIC -c $< -o $@
%.o: %.c
\t$(CC) $(CFLAGS) -c $< -o $@
clean:
\trm -f prog *.so *.a *.o
"""
OBJECTS = ["main.o", "shapes.o", "shapes.pic.o", "util.o", "util.pic.o"]


@pytest.fixture
def builds(tmp_path):
    """(llmc cc build, clang -Oz build, environment with the database): one project,
    built in two folders."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "util.h").write_text(HEADER)
    for name, text in SOURCES.items():
        (source / name).write_text(text)
    (source / "Makefile").write_text(MAKEFILE)
    baseline, build = tmp_path / "baseline", tmp_path / "build"
    shutil.copytree(source, baseline)
    shutil.copytree(source, build)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMC_CC_")}
    env.update(LLMC_CC_DB=str(tmp_path / "tuning.sqlite"), LLMC_CC_BUDGET="0.05")
    make(baseline, env, f"CC={CLANG}", "CFLAGS=-Oz")
    make(build, env)
    return build, baseline, env


def report_json(capsys, argv) -> dict:
    assert llmc_main(["report", *argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    check("report", data)
    return data


def text_data(path) -> int:
    text, data, _ = llvm_size(path)
    return text + data


def test_report_matches_llvm_size_and_the_log(builds, capsys):
    build, baseline, env = builds
    db = env["LLMC_CC_DB"]
    data = report_json(capsys, ["--db", db, "--build", str(build), "--baseline", str(baseline)])
    # the linked binaries (not the objects, not the archive), by relative path
    assert [os.path.basename(b["binary"]) for b in data["binaries"]] == ["libshapes.so", "prog"]
    for b in data["binaries"]:
        assert b["size"] == text_data(b["binary"])
        assert b["baseline_size"] == text_data(b["baseline"])
        assert os.path.relpath(b["baseline"], baseline) == os.path.relpath(b["binary"], build)
        assert b["difference"] == b["size"] - b["baseline_size"]
    # the objects: the log's latest compile of each
    with TuningDB(db) as tuning:
        rows = {r["output"]: r for r in tuning.compiles()}
    assert [o["output"] for o in data["objects"]] == OBJECTS
    for o in data["objects"]:
        row = rows[o["output"]]
        assert (o["outcome"], o["oz_size"], o["size"]) == ("miss", row["oz_size"], row["size"])
        assert o["size"] == text_data(build / o["output"])  # what the build linked
        assert o["difference"] == o["size"] - o["oz_size"] <= 0
        assert o["kind"] == "object" and o["source"] == o["output"].split(".")[0] + ".c"
    assert data["totals"] == {
        "compiles": 5,
        "hit": 0,
        "miss": 5,
        "large": 0,
        "fallback": 0,
        "error": 0,
        "seconds": pytest.approx(sum(r["seconds"] for r in rows.values()), abs=0.01),
    }

    # a warm rebuild: each object's latest compile is a hit; the totals count both builds
    run(["make", "clean"], build)
    make(build, env)
    data = report_json(capsys, ["--db", db, "--build", str(build), "--baseline", str(baseline)])
    assert {o["outcome"] for o in data["objects"]} == {"hit"}
    assert {k: data["totals"][k] for k in ("compiles", "hit", "miss")} == {
        "compiles": 10,
        "hit": 5,
        "miss": 5,
    }


def test_table_pairs_and_filtering(builds, capsys, tmp_path, monkeypatch):
    build, baseline, env = builds
    monkeypatch.setenv("LLMC_CC_DB", env["LLMC_CC_DB"])  # the default --db
    # a compile elsewhere with the same database: left out with --build
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.c").write_text("int x(int a) { return a * 3; }\n")
    run([LLMC, "cc", "-c", "x.c"], other, {**env, "LLMC_CC_DB": env["LLMC_CC_DB"]})

    prog, base = str(build / "prog"), str(baseline / "prog")
    assert llmc_main(["report", f"{prog}={base}", "--build", str(build)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith(prog))
    numbers = [int(n) for n in re.findall(r"[-+]?\d+", line.removeprefix(prog))[:3]]
    assert numbers == [text_data(base), text_data(prog), text_data(prog) - text_data(base)]
    assert out.splitlines()[-1].startswith("5 compiles: 0 hit, 5 miss, 0 large, 0 fallback,")
    assert "x.o" not in out
    for name in OBJECTS:
        assert re.search(rf"^{re.escape(name)} +\d+ +\d+ +[-+]\d+ \(.*%\)  miss$", out, re.M)

    monkeypatch.chdir(other)  # without --build: every compile, paths shown from here
    data = report_json(capsys, [])
    assert data["binaries"] == [] and data["totals"]["compiles"] == 6
    assert "x.o" in [o["output"] for o in data["objects"]]


def test_usage_and_input_errors(builds, capsys, tmp_path):
    build, baseline, env = builds
    assert llmc_main(["report", "--db", env["LLMC_CC_DB"], "--baseline", str(baseline)]) == 2
    assert llmc_main(["report", "--db", env["LLMC_CC_DB"], "prog"]) == 2
    assert "expected BINARY=BASELINE" in capsys.readouterr().err
    missing = tmp_path / "none.sqlite"
    assert llmc_main(["report", "--db", str(missing)]) == 1
    assert "no such tuning database" in capsys.readouterr().err
    assert not missing.exists()
    assert not is_linked_elf(build / "main.o") and not is_linked_elf(build / "libutil.a")
    assert is_linked_elf(build / "prog") and is_linked_elf(build / "libshapes.so")
