"""Objects kept in the tuning database: a warm hit costs clang's front end alone, and a
kept object is never used once the database holds another list for its module."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.driver.db import Entry, Key, TuningDB

BIN = Path(sys.executable).parent
SOURCE = """\
unsigned mix(const unsigned char *p, unsigned n) {
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
    return h;
}
"""

pytestmark = pytest.mark.skipif(shutil.which("clang-19") is None, reason="needs clang-19")


@pytest.fixture
def work(tmp_path):
    (tmp_path / "mix.c").write_text(SOURCE)
    env = {**os.environ, "LLMC_CC_DB": str(tmp_path / "t.sqlite"), "LLMC_CC_BUDGET": "0.5"}
    env.pop("LLMC_CC_FAIL", None)
    env.pop("LLMC_CC_CACHE_SIZE", None)
    return tmp_path, env


def cc(work, *flags, extra=None):
    folder, env = work
    argv = [str(BIN / "llmc"), "cc", "-Oz", "-c", "mix.c", "-o", "mix.o", *flags]
    proc = subprocess.run(argv, cwd=folder, env={**env, **(extra or {})}, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr.decode(), (folder / "mix.o").read_bytes()


def logged(work):
    with TuningDB(work[1]["LLMC_CC_DB"]) as db:
        return [r["outcome"] for r in db.compiles()]


def objects(work):
    db = sqlite3.connect(work[1]["LLMC_CC_DB"])
    rows = db.execute("SELECT pipeline, bytes FROM objects").fetchall()
    db.close()
    return rows


def test_a_warm_hit_gives_the_kept_object(work):
    _, first = cc(work)
    ((pipeline, size),) = objects(work)
    assert size == len(first)
    said, second = cc(work)
    assert said == "" and second == first
    # front-end flags are in the module already: a build elsewhere hits the same object
    said, third = cc(work, "-I", str(work[0] / "build2" / "include"), "-DUNUSED=1")
    assert third == first and len(objects(work)) == 1
    # other flags that reach the object: another module key or object key, another object
    cc(work, "-ffunction-sections")
    assert len(objects(work)) == 2
    assert logged(work) == ["miss", "hit", "hit", "miss"]


def test_a_kept_object_of_another_list_is_not_used(work):
    _, first = cc(work)
    with TuningDB(work[1]["LLMC_CC_DB"]) as db:
        ((key, entry),) = db.entries()
        db.db.execute("UPDATE tuned SET pipeline='default<Oz>', size=oz_size")
    _, again = cc(work)
    oz = subprocess.run(["clang-19", "-Oz", "-c", "mix.c", "-o", "oz.o"], cwd=work[0], check=True)
    assert oz.returncode == 0 and again == (work[0] / "oz.o").read_bytes()
    assert logged(work) == ["miss", "hit"]
    assert [p for p, _ in objects(work)] == ["default<Oz>"]


def test_no_objects_kept_with_size_zero_and_a_bad_size_falls_back(work):
    cc(work, extra={"LLMC_CC_CACHE_SIZE": "0"})
    cc(work, extra={"LLMC_CC_CACHE_SIZE": "0"})
    assert objects(work) == [] and logged(work) == ["miss", "hit"]
    said, _ = cc(work, extra={"LLMC_CC_CACHE_SIZE": "lots"})
    assert said.strip() == (
        "llmc cc: warning: mix.c: LLMC_CC_CACHE_SIZE='lots' is not a size (e.g. 500M or 2G); "
        "compiled with clang -Oz"
    )


def test_the_oldest_objects_go_first_beyond_the_limit(tmp_path):
    with TuningDB(tmp_path / "t.sqlite") as db:
        for i in range(5):
            key = Key(f"m{i}", "x86_64-pc-linux-gnu", "", "size")
            db.store(key, Entry("default<Oz>", 100, 100))
            db.store_object(f"o{i}", key, "default<Oz>", bytes(100), 100, limit=350)
        kept = [r[0] for r in db.db.execute("SELECT key FROM objects ORDER BY used")]
        assert kept == ["o2", "o3", "o4"]  # each time down to 90 % of the limit
        assert db.cached_object("o4")[1].hash == "m4" and db.cached_object("o1") is None
        db.store_object("big", key, "default<Oz>", bytes(400), 100, limit=350)
        assert db.cached_object("big") is None  # larger than the whole limit: not kept


def test_show_stats(work):
    cc(work)
    cc(work)
    folder, env = work
    argv = [str(BIN / "llmc"), "cc", "--show-stats"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines())
    assert lines["Compiles"].strip() == "2 (hit 1, miss 1, large 0, fallback 0, error 0)"
    assert lines["Hit rate"].strip() == "50.0 % of hits and misses"
    size = (folder / "mix.o").stat().st_size
    assert lines["Objects kept"].strip() == f"1, {size} bytes of 2.0 GiB"
    proc = subprocess.run(
        argv, env={**env, "LLMC_CC_DB": str(folder / "none.sqlite")}, capture_output=True, text=True
    )
    assert proc.returncode == 1 and not (folder / "none.sqlite").exists()
    assert proc.stderr == (
        f"llmc cc: error: {folder / 'none.sqlite'}: no tuning database yet "
        "(build with llmc cc first)\n"
    )
