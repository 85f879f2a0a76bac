"""The SQLite results cache: hits, keys, and several processes at once."""

from __future__ import annotations

import multiprocessing

import pytest

from conftest import run_at_once
from llmcompiler.engine import EvalResult, Evaluator, Objective, ResultCache
from llmcompiler.engine.cache import CacheWarning
from llmcompiler.engine.result import CRASH, OK, TIMEOUT


def test_repeated_evaluation_costs_nothing(programs, tmp_path):
    cache = ResultCache(tmp_path / "c.sqlite")
    with Evaluator(jobs=1, cache=cache) as ev:
        first = ev.evaluate(programs["loops.c"], "default<Oz>")
        second = ev.evaluate(programs["loops.c"], "default<Oz>")
        crash = ev.evaluate(programs["loops.c"], "function(codegenprepare)")
        crash_again = ev.evaluate(programs["loops.c"], "function(codegenprepare)")
        # the crash ran twice (once more in a fresh worker), then came from the cache
        assert ev.stats.evaluations == 3 and ev.stats.retries == 1 and ev.stats.cache_hits == 2
    assert not first.cached and second.cached
    assert (second.status, second.instcount, second.size) == (OK, first.instcount, first.size)
    assert crash.status == crash_again.status == CRASH and crash_again.cached


def test_key_includes_objective_and_llvm_version(tmp_path):
    cache = ResultCache(tmp_path / "c.sqlite")
    cache.put("h", "p", Objective(), EvalResult(OK, 10, 100))
    assert cache.get("h", "p", Objective(metric="instcount")) is None
    assert cache.get("h", "p", Objective(size_path="llc")) is None
    assert cache.get("h", "p", Objective()).size == 100
    cache.put("h", "slow", Objective(), EvalResult(TIMEOUT, error="timed out"))
    assert cache.get("h", "slow", Objective()) is None
    cache.llvm = "18.1.0"
    assert cache.get("h", "p", Objective()) is None


def _writer(path: str, worker: int, count: int) -> None:
    cache = ResultCache(path)
    for i in range(count):
        cache.put(f"m{worker}", f"p{i}", Objective(), EvalResult(OK, i, worker))
        if cache.get(f"m{worker}", f"p{i}", Objective()).instcount != i:
            raise SystemExit(1)


def test_several_processes_share_one_file(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    ResultCache(path).close()
    procs = [
        multiprocessing.get_context("spawn").Process(target=_writer, args=(path, w, 200))
        for w in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ResultCache(path)
    assert len(cache) == 800
    assert cache.get("m3", "p199", Objective()).size == 3


_OPEN_AT_ONCE = """
import sys, time, warnings
warnings.simplefilter("error")  # a CacheWarning ends the process with its message
from llmcompiler.engine import EvalResult, Objective, ResultCache
from llmcompiler.engine.result import OK
while time.time() < float(sys.argv[1]):
    pass
cache = ResultCache(sys.argv[2])
cache.put("m", sys.argv[3], Objective(), EvalResult(OK, 1, 2))
cache.close()
"""


def test_processes_creating_the_same_cache_at_once_all_use_it(tmp_path):
    # `make -j` with `llmc cc` on a fresh machine: before the schema was written in one
    # transaction (and its creation retried), a process could see the tables without
    # the schema version and give the cache up ("schema missing ... remove the file"),
    # about one process in twelve
    for attempt in range(8):
        path = tmp_path / f"new{attempt}.sqlite"
        outcomes = run_at_once(_OPEN_AT_ONCE, [[str(path), f"p{i}"] for i in range(3)])
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        assert len(ResultCache(path)) == 3


def test_not_a_database(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("this is not sqlite" * 100)
    with pytest.warns(CacheWarning, match="results cache not used: file is not a database"):
        cache = ResultCache(bad)
    assert not cache.usable and "not a database" in cache.problem
    cache.put("h", "p", Objective(), EvalResult(OK, 1, 2))  # nothing, and no second warning
    assert cache.get("h", "p", Objective()) is None and len(cache) == 0
    assert bad.read_text() == "this is not sqlite" * 100  # left as it was
