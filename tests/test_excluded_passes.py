"""A pass found to miscompile (the attributor, on Lua 5.4.8) is out of every path: the
vocabulary, the shipped coresets, the built-in model's proposals and stored lists."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources

import numpy as np
import pytest

from llmcompiler.driver.db import Entry, Key, TuningDB
from llmcompiler.errors import PipelineError
from llmcompiler.model.base import candidate_from_pipeline
from llmcompiler.model.builtin import RankerModel
from llmcompiler.model.ranker import Ranker, program_vector
from llmcompiler.pipeline import load_vocabulary, validate

ATTRIBUTOR = "default<Oz>,attributor,default<Oz>"
GOOD = "function(mem2reg),default<Oz>"


def test_the_vocabulary_rejects_the_attributor_and_says_why():
    assert "miscompiles" in load_vocabulary().exclusion("attributor")
    with pytest.raises(PipelineError, match="miscompiles"):
        validate(ATTRIBUTOR, load_vocabulary())
    assert candidate_from_pipeline(ATTRIBUTOR).pipeline is None
    # the light variant passed Lua's tests and stays
    assert candidate_from_pipeline("attributor-light,default<Oz>").pipeline is not None


def test_no_shipped_coreset_holds_a_rejected_list():
    data = resources.files("llmcompiler.data")
    files = [data / "coreset_llvm19.json", *(data / "coresets").iterdir()]
    for path in files:
        if not path.name.endswith(".json"):
            continue
        lists = [e["pipeline"] for e in json.loads(path.read_text())["lists"]]
        assert lists, path.name
        rejected = [p for p in lists if candidate_from_pipeline(p).pipeline is None]
        assert rejected == [], path.name


def test_the_model_passes_over_lists_the_vocabulary_now_rejects(programs):
    program = programs["loops.c"]
    n = len(program_vector(program))
    ranker = Ranker(
        [ATTRIBUTOR, GOOD],
        np.zeros(n),
        np.ones(n),
        np.zeros((2, n)),
        np.array([[9.0, 1.0], [9.0, 1.0]]),  # the rejected list looks best
    )
    (only,) = RankerModel(ranker, "test").propose(program, 2)
    assert only.pipeline == GOOD and only.error is None


def test_a_database_forgets_rejected_lists_when_the_vocabulary_changes(tmp_path):
    path = tmp_path / "tuning.sqlite"
    bad, good = (
        Key("h1", "x86_64-pc-linux-gnu", "", "size"),
        Key("h2", "x86_64-pc-linux-gnu", "", "size"),
    )
    with TuningDB(path) as db:
        db.store(bad, Entry(ATTRIBUTOR, 10, 12))
        db.store(good, Entry(GOOD, 10, 12))
        db.store_object("o-bad", bad, ATTRIBUTOR, b"object", 10, limit=1 << 20)
        db.store_object("o-good", good, GOOD, b"object", 10, limit=1 << 20)
    with TuningDB(path) as db:  # the same vocabulary: nothing is checked again
        assert db.lookup(bad) is not None
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE meta SET value='an older vocabulary' WHERE key='vocabulary'")
    raw.close()
    with TuningDB(path) as db:
        assert db.lookup(bad) is None
        assert db.lookup(good).pipeline == GOOD
        kept = [k for (k,) in db.db.execute("SELECT key FROM objects")]
        assert kept == ["o-good"]  # the rejected list's object is gone with it
