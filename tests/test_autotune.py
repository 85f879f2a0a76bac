"""llmc autotune (local processes and Ray), resuming, and coreset building."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, exact_size, run_at_once
from llmcompiler.cli import main
from llmcompiler.pipeline import OZ
from llmcompiler.program import load_program
from llmcompiler.search.coreset import build_coreset, load_coreset
from llmcompiler.search.tunedb import TuneDB

PROGRAMS = [str(FIXTURES / n) for n in ("loops.c", "switch.c", "recursion.c", "globals.c")]


def _row(digest: str, lists: dict[str, float]) -> dict:
    return {
        "hash": digest,
        "name": digest,
        "status": "ok",
        "lists": [
            {"pipeline": p, "size": 1, "instcount": 1, "improvement_pct": v}
            for p, v in lists.items()
        ],
    }


def test_greedy_set_cover(tmp_path):
    L1, L2, L3, L4 = "function(gvn)", "function(dse)", "function(adce)", "function(sccp)"
    db = TuneDB(tmp_path / "t.sqlite")
    db.record(_row("A", {L1: 10.0, L3: 11.0}))
    db.record(_row("B", {L1: 10.0}))
    db.record(_row("C", {L2: 5.0, L4: -3.0}))
    coreset, entries = build_coreset(db, k=2)
    assert coreset.pipelines == (L1, L2)
    assert [e["gain_pct_sum"] for e in entries] == [20.0, 5.0]
    coreset, _ = build_coreset(db, k=10)
    assert coreset.pipelines == (L1, L2, L3)  # L4 never helps
    assert coreset.provenance["programs"] == 3
    assert coreset.provenance["llvm_version"].startswith("19.")


def test_a_coreset_never_holds_a_list_the_vocabulary_rejects(tmp_path):
    db = TuneDB(tmp_path / "t.sqlite")
    newgvn = "default<Oz>,function(newgvn)"  # excluded since: it miscompiled crc32c
    db.record(_row("A", {newgvn: 30.0, "default<Oz>,function(gvn)": 1.0}))
    coreset, _ = build_coreset(db, k=5)
    assert coreset.pipelines == ("default<Oz>,function(gvn)",)


def test_autotune_then_coreset(tmp_path, capsys):
    db = tmp_path / "tune.sqlite"
    code = main(
        [
            "autotune",
            *PROGRAMS[:2],
            "--budget-per-program",
            "120",
            "--evaluations-per-program",  # the same search whatever the machine's load
            "200",
            "--db",
            str(db),
            "--jobs",
            "2",
            "--corpus",
            "test fixtures",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["name"] for r in rows) == sorted(PROGRAMS[:2])
    assert all(r["size"] <= r["oz_size"] for r in rows)
    # every stored list's size and improvement are exact (llc-19), against exact -Oz:
    # float.c calls sqrt, where the fast in-process emitter is 62 bytes smaller than llc
    float_c = str(FIXTURES / "float.c")
    main(
        ["autotune", float_c, "--budget-per-program", "120", "--evaluations-per-program", "60"]
        + ["--db", str(db), "--corpus", "test fixtures"]
    )
    capsys.readouterr()
    programs = {p.hash: p for p in map(load_program, [*PROGRAMS[:2], float_c])}
    tunedb = TuneDB(db)
    stored = list(tunedb.db.execute("SELECT hash, pipeline, size, improvement_pct FROM lists"))
    assert len(stored) > 3  # the winners and the runners-up
    for digest, pipeline, size, improvement in stored:
        oz, exact = (exact_size(programs[digest], p) for p in (OZ, pipeline))
        assert (size, improvement) == (exact, pytest.approx((oz - exact) / oz * 100))
    tunedb.close()
    out = tmp_path / "coreset.json"
    assert main(["coreset", "build", "--db", str(db), "-k", "5", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["corpus"] == "test fixtures" and data["budget_per_program"] == 120.0
    assert data["llvm_version"].startswith("19.") and data["programs"] == 3
    assert load_coreset(str(out)).pipelines == tuple(e["pipeline"] for e in data["lists"])
    assert data["lists"], "switch.c always improves on -Oz"


def test_resume_after_interruption(tmp_path):
    db = tmp_path / "tune.sqlite"
    argv = [
        sys.executable,
        "-m",
        "llmcompiler",
        "autotune",
        *PROGRAMS,
        "--budget-per-program",
        "5",  # long enough that a loaded machine cannot finish them all before SIGINT
        "--db",
        str(db),
        "--jobs",
        "1",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if db.exists() and len(TuneDB(db).done()) >= 1:
            break
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    first = TuneDB(db).done()
    assert 1 <= len(first) < len(PROGRAMS)
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {len(first)} of {len(PROGRAMS)} programs already in" in again.stderr
    assert len(again.stdout.splitlines()) == len(PROGRAMS) - len(first)
    assert len(TuneDB(db).done()) == len(PROGRAMS)


_OPEN_AT_ONCE = """
import sys, time
from llmcompiler.search.tunedb import TuneDB
while time.time() < float(sys.argv[1]):
    pass
TuneDB(sys.argv[2]).close()
"""


def test_processes_creating_the_same_database_at_once_all_open_it(tmp_path):
    # a new file's journal switch to WAL does not wait for a lock: before the creation
    # was retried, one of two processes opening a new database at the same moment
    # failed with "database is locked" about two times in three
    for attempt in range(8):
        db = tmp_path / f"new{attempt}.sqlite"
        outcomes = run_at_once(_OPEN_AT_ONCE, [[str(db)]] * 3)
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        assert TuneDB(db).meta("schema_version") == "1"


def test_ray_local_instance(tmp_path, capsys):
    pytest.importorskip("ray")
    db = tmp_path / "ray.sqlite"
    code = main(
        ["autotune", *PROGRAMS[:2], "--budget-per-program", "1", "--db", str(db), "--ray", "local"]
    )
    import ray

    ray.shutdown()
    assert code == 0
    assert len(TuneDB(db).done()) == 2
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(r["status"] == "ok" for r in rows)


def test_cross_evaluation_values_each_list_on_every_program(tmp_path, evaluator):
    """--cross: stored values are replaced by each list measured on every program, so a
    list that helps several programs is valued on all of them, and a value that does not
    hold (a made-up 99 %) is gone."""
    from llmcompiler.engine import Objective
    from llmcompiler.pipeline.oz import template
    from llmcompiler.search.coreset import CrossEvaluation

    oz = template()
    no_inliner = oz.variant(((oz.names.index("inline"), None),)).name  # 28 % off switch.c
    programs = [load_program(p) for p in PROGRAMS[:3]]
    lists = ["default<O3>", no_inliner, "default<Os>"]
    db = TuneDB(tmp_path / "t.sqlite")
    db.set_meta("objective", "size")
    for i, program in enumerate(programs):
        row = _row(program.hash, {lists[i]: 99.0})
        db.record({**row, "name": str(PROGRAMS[i])})
    measured, cost = CrossEvaluation(evaluator).measure(db, lists)
    assert set(cost) == set(lists) and all(c > 0 for c in cost.values())
    size = Objective(metric="size")
    for program in programs:
        oz = evaluator.evaluate(program, OZ, size).size
        for pipeline in lists:
            got = evaluator.evaluate(program, pipeline, size).size
            expected = (oz - got) / oz * 100 if got < oz else None
            assert measured[pipeline].get(program.hash) == pytest.approx(expected)
    coreset, entries = build_coreset(db, k=3, cross=CrossEvaluation(evaluator))
    assert "measured on every program" in coreset.provenance["method"]
    assert any(measured.values()) and not all(99.0 in v.values() for v in measured.values())
    assert set(coreset.pipelines) == {p for p in lists if measured[p]}
    assert sum(e["gain_pct_sum"] for e in entries) == pytest.approx(
        sum(max((measured[p].get(x.hash, 0.0) for p in lists), default=0.0) for x in programs)
    )


def test_coreset_cross_cache_feeds_ranker_collect(tmp_path, capsys):
    """build --cross --cache stores every measure, so `llmc ranker collect` over the same
    lists with the same cache measures nothing again (the cache gains no entry)."""
    from llmcompiler.engine.cache import ResultCache

    db, out, cache = (tmp_path / n for n in ("t.sqlite", "c.json", "results.sqlite"))
    tune = ["autotune", *PROGRAMS[:2], "--evaluations-per-program", "20", "--db", str(db)]
    assert main([*tune, "--budget-per-program", "60", "--jobs", "1"]) == 0
    build = ["coreset", "build", "--db", str(db), "-k", "3", "-o", str(out), "--cross"]
    assert main([*build, "--cache", str(cache), "--jobs", "1"]) == 0
    lists = load_coreset(str(out)).pipelines
    with ResultCache(str(cache)) as c:
        stored = len(c)
    assert lists and stored >= 2 * (1 + len(lists))  # -Oz and every list, on both
    matrix = tmp_path / "m.npz"
    collect = ["ranker", "collect", *PROGRAMS[:2], "--lists", str(out), "-o", str(matrix)]
    assert main([*collect, "--cache", str(cache), "--jobs", "1"]) == 0
    capsys.readouterr()
    with ResultCache(str(cache)) as c:
        assert len(c) == stored
        assert c.totals()["hits"] >= 2 * (1 + len(lists))


def test_cost_aware_cover_puts_fast_lists_first():
    """With a cost weight, gain per unit of time (against -Oz's) ranks the lists: a list
    four times slower than -Oz must find four times more (weight 1) to come first."""
    from llmcompiler.search.coreset import _cover

    value = {"slow": {"A": 10.0, "B": 10.0}, "fast": {"A": 8.0}, "cheap": {"B": 1.0}}
    cost = {"slow": 4.0, "fast": 1.0, "cheap": 0.01}
    order = [e["pipeline"] for e in _cover(value, 3)[0]]
    assert order == ["slow"]  # nothing is left to gain after it
    order = [e["pipeline"] for e in _cover(value, 3, cost, 1.0)[0]]
    # fast 8 / 1 before slow 20 / 4; then cheap 1 / 0.25 (its cost floored at 1/4)
    # before slow (2 + 10) / 4; slow last, for the 11 points still left to it
    assert order == ["fast", "cheap", "slow"]
    assert [e["pipeline"] for e in _cover(value, 3, cost, 0.0)[0]] == ["slow"]
