"""Every model command with a real checkpoint: a dataset built by ``llmc dataset build``
from a corpus, a tiny Llama trained on it by ``llmc train`` (CPU), then ``llmc optimize
--method model``, ``llmc disasm``, ``llmc emulate`` and ``llmc eval`` with ``--model`` on
that checkpoint. The model is tiny and its answers are mostly wrong: what is tested is
that every answer is checked by the compiler and nothing breaks."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from dataset_corpus import make_corpus
from llmcompiler.cli import main
from llmcompiler.llvm.toolchain import count_text_instructions, llc_assembly, opt
from llmcompiler.program import load_program
from test_json_schemas import check as check_schema

pytest.importorskip("torch")

TINY = """
layers = 1
heads = 2
hidden_size = 32
vocab_size = 300
context_length = 6144
batch_size = 2
lr = 3e-3
max_steps = 4
eval_interval = 2
device = "cpu"
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(disassembly dataset, checkpoint) trained on a one-module corpus (small enough
    for a tiny context; the other fixtures' prompts are too long for it, which tests
    that path: their candidates are empty, with the reason)."""
    base = tmp_path_factory.mktemp("e2e")
    corpus = make_corpus(base / "corpus", names=["tiny.ll"], broken=False)
    data = base / "dis"
    split = "train=1.0"
    code = main(
        ["dataset", "build", "--task", "disassembly", "--corpus", str(corpus), "-o", str(data)]
        + ["--split", split, "--jobs", "1"]
    )
    assert code == 0
    config = base / "tiny.toml"
    config.write_text(TINY)
    out = base / "ckpt"
    assert main(["train", "--data", str(data), "--config", str(config), "--out", str(out)]) == 0
    return data, out


def test_optimize_with_the_checkpoint_is_never_worse_than_oz(checkpoint, capsys):
    _, ckpt = checkpoint
    path = str(FIXTURES / "tiny.ll")
    args = ["optimize", path, "--method", "model", "--model", str(ckpt), "--candidates", "2"]
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    check_schema("optimize", rows)
    (row,) = rows
    assert row["method"] == "model"
    assert row["best"]["size"] <= row["oz"]["size"]
    assert 1 <= len(row["proposals"]) <= 2
    for proposal in row["proposals"]:  # a validated list with its size, or the reason
        assert (proposal["pipeline"] is None) == (proposal["size"] is None) or proposal["error"]
        assert proposal["pipeline"] is not None or proposal["error"]


def test_disasm_and_emulate_with_the_checkpoint(checkpoint, tmp_path, capsys):
    _, ckpt = checkpoint
    program = load_program(FIXTURES / "recursion.c")
    asm = tmp_path / "recursion.s"
    asm.write_text(llc_assembly(opt(program.bitcode, "default<Oz>")))
    code = main(["disasm", str(asm), "--model", str(ckpt), "--max-new-tokens", "32", "--json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    check_schema("disasm", report)
    assert code == (0 if report["round_trip"] else 1)  # 1: nothing compiled back
    assert report["candidates"] and all(c["round_trip"] or c["error"] for c in report["candidates"])
    args = ["emulate", str(FIXTURES / "tiny.ll"), "-p", "function(sroa)", "--model", str(ckpt)]
    assert main([*args, "--max-new-tokens", "32", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    check_schema("emulate", row)
    real = opt(load_program(FIXTURES / "tiny.ll").bitcode, "function(sroa)").decode()
    assert row["real"]["instcount"] == count_text_instructions(real)
    assert row["exact_match"] is False or row["predicted_code"] == row["real_code"]


def test_eval_disassembly_report_with_the_checkpoint(checkpoint, tmp_path):
    data, ckpt = checkpoint
    report = tmp_path / "report"
    args = ["eval", "disassembly", "--data", str(data), "--split", "train", "--model", str(ckpt)]
    code = main([*args, "--max-new-tokens", "32", "--report", str(report)])
    assert code == 0
    results = json.loads((report / "results.json").read_text())
    assert results["summary"]["items"] >= 1
    assert "round_trip_pct" in results["summary"]
    assert (report / "report.html").read_text().lower().startswith("<!doctype html>")
