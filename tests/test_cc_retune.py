"""``llmc autotune --from-build`` and ``--compile-commands``: a build's modules tuned again
with a larger budget, stored under the keys the next build looks up."""

from __future__ import annotations

import json
import os
import re

import pytest

from llmcompiler.cli import main as llmc_main
from llmcompiler.driver.db import TuningDB
from llmcompiler.driver.retune import BuildCommand, commands_from_compile_commands
from llmcompiler.errors import InputError
from llmcompiler.llvm import berkeley_size
from test_cc import CLANG, HEADER, LLMC, MAKEFILE, SOURCES, make, outcomes, run

#: a module's line: "SOURCE (OBJECT): BEFORE -> AFTER (N% smaller, stored|kept ...)"
LINE = re.compile(
    r"^(\S+) \((\S+)\): (\d+) -> (\d+) \((-?[\d.]+)% smaller, (stored|kept the stored list)\)$"
)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "util.h").write_text(HEADER)
    for name, text in SOURCES.items():
        (root / name).write_text(text)
    (root / "Makefile").write_text(MAKEFILE)
    return root


@pytest.fixture
def env(tmp_path):
    out = {k: v for k, v in os.environ.items() if not k.startswith("LLMC_CC_")}
    out["LLMC_CC_DB"] = str(tmp_path / "tuning.sqlite")
    return out


def sizes(project) -> dict[str, int]:
    return {
        n: berkeley_size((project / n.replace(".c", ".o")).read_bytes()).binary_size
        for n in SOURCES
    }


def test_from_build_improves_and_the_next_build_hits(project, env):
    # a build that searched nothing (budget 0: -Oz alone, stored), so that autotune's
    # search has something to find; with 0.05 s the build finds the easy wins itself
    make(project, {**env, "LLMC_CC_BUDGET": "0"})
    expected = run(["./prog"], project).stdout
    before = sizes(project)
    with TuningDB(env["LLMC_CC_DB"]) as db:
        old = dict(db.entries())
    assert len(old) == 3 and {e.source for e in old.values()} == {"search"}

    proc = run(
        [LLMC, "autotune", "--from-build", "--budget-per-program", "3", "--jobs", "2"],
        project.parent,
        env,
    )
    lines = [LINE.match(ln) for ln in proc.stdout.splitlines()]
    assert all(lines) and sorted(m[1] for m in lines) == sorted(SOURCES), proc.stdout
    assert "3 modules in " in proc.stderr and "0 failed" in proc.stderr
    with TuningDB(env["LLMC_CC_DB"]) as db:
        new = dict(db.entries())
    assert new.keys() == old.keys()  # the driver's keys
    assert all(m[2] == m[1].replace(".c", ".o") for m in lines)
    stored = {m[1] for m in lines if m[6] == "stored"}
    assert stored, "3 s of search beat -Oz on no module"
    for key, entry in new.items():  # a better entry replaced the build's, and only that
        assert entry.size <= old[key].size
        assert (entry.source == "autotune") == (entry.size < old[key].size)
        if entry.source == "autotune":
            assert entry.budget == 3.0 and entry.size < entry.oz_size
    assert sum(e.source == "autotune" for e in new.values()) == len(stored)
    for m in lines:  # before: the object the build made; after: the stored entry's
        assert int(m[4]) <= int(m[3]) == before[m[1]]
        assert (m[6] == "stored") == (int(m[4]) < int(m[3]))

    run(["make", "clean"], project)
    make(project, env)
    assert outcomes(env)[3:] == ["hit"] * 3
    after = sizes(project)
    assert all(after[n] <= before[n] for n in SOURCES)
    assert sum(after.values()) < sum(before.values())
    assert {n for n in SOURCES if after[n] < before[n]} == stored
    assert run(["./prog"], project).stdout == expected


def test_compile_commands(project, env, tmp_path, capsys, monkeypatch):
    commands = [
        {
            "directory": str(project),
            "arguments": [CLANG, "-O2", "-c", "util.c", "-o", "util.o"],
            "file": "util.c",
        },
        {
            "directory": str(project),
            "command": f"{CLANG} -O2 -DSIDES=6 -c {project / 'shapes.c'} -o out/shapes.c.o",
            "file": str(project / "shapes.c"),
            "output": "out/shapes.c.o",
        },
        {"directory": str(project), "command": f"{CLANG} -c gone.c", "file": "gone.c"},
    ]
    path = tmp_path / "compile_commands.json"
    path.write_text(json.dumps(commands))
    monkeypatch.setenv("LLMC_CC_DB", env["LLMC_CC_DB"])  # the default --db
    argv = ["autotune", "--compile-commands", str(path), "--budget-per-program", "1"]
    assert llmc_main([*argv, "--jobs", "1"]) == 1  # gone.c failed, the rest went on
    out, err = capsys.readouterr()
    names = sorted(LINE.match(ln).group(1, 2) for ln in out.splitlines())  # as the commands say
    assert names == [(str(project / "shapes.c"), "out/shapes.c.o"), ("util.c", "util.o")]
    assert "llmc: error: gone.c: clang failed: " in err and "1 failed" in err
    with TuningDB(env["LLMC_CC_DB"]) as db:
        entries = db.entries()
    assert len(entries) == 2 and {e.source for _, e in entries} == {"autotune"}
    # the same commands, compiled by llmc cc, find them
    (project / "out").mkdir()
    run([LLMC, "cc", "-O2", "-c", "util.c", "-o", "util.o"], project, env)
    run(
        [LLMC, "cc", "-O2", "-DSIDES=6", "-c", str(project / "shapes.c"), "-o", "out/shapes.c.o"],
        project,
        env,
    )
    assert outcomes(env) == ["hit", "hit"]


def test_reading_compile_commands(tmp_path):
    path = tmp_path / "cc.json"
    cxx = ["/usr/bin/clang++-19", "-c", "x.cpp"]
    entries = [
        {"directory": "/b", "command": "llmc cc -O2 -c 'a b.c'", "file": "a b.c"},
        {"directory": "/b", "arguments": cxx, "file": "x.cpp"},
        {"directory": "/b", "arguments": ["llmc-cc", "clang++", "-c", "y.cc"], "file": "y.cc"},
        {"directory": "/b", "arguments": cxx, "file": "x.cpp"},  # once only
    ]
    path.write_text(json.dumps(entries))
    assert commands_from_compile_commands(path) == [
        BuildCommand("/b", ("-O2", "-c", "a b.c"), "a b.c", False),
        BuildCommand("/b", ("-c", "x.cpp"), "x.cpp", True),
        BuildCommand("/b", ("-c", "y.cc"), "y.cc", True),
    ]
    path.write_text('[{"directory": "/b", "file": "a.c"}]')
    with pytest.raises(InputError, match="entry 0: no 'command'"):
        commands_from_compile_commands(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="not a compilation database"):
        commands_from_compile_commands(path)


def test_from_build_without_a_database(tmp_path, capsys):
    missing = str(tmp_path / "none.sqlite")
    assert llmc_main(["autotune", "--from-build", "--db", missing]) == 1
    assert "no such tuning database" in capsys.readouterr().err
    assert not os.path.exists(missing)
    assert llmc_main(["autotune", "x.c", "--from-build", "--db", missing]) == 2


def test_from_build_on_ray(project, env, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    make(project, {**env, "LLMC_CC_BUDGET": "0"})
    with TuningDB(env["LLMC_CC_DB"]) as db:
        old = dict(db.entries())
    monkeypatch.setenv("LLMC_CC_DB", env["LLMC_CC_DB"])
    monkeypatch.chdir(tmp_path)

    def local(*args):
        raise AssertionError("tuned in local processes, not on Ray")

    monkeypatch.setattr("llmcompiler.driver.retune._run", local)
    argv = ["autotune", "--from-build", "--budget-per-program", "1", "--ray", "local"]
    try:
        assert llmc_main(argv) == 0
    finally:
        import ray

        ray.shutdown()
    with TuningDB(env["LLMC_CC_DB"]) as db:
        new = dict(db.entries())
    assert new.keys() == old.keys()  # each module tuned on Ray, stored under its key
    assert all(new[k].size <= old[k].size for k in new)
    assert all(e.budget == 1.0 for e in new.values() if e.source == "autotune")
