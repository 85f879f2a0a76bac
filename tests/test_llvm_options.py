"""The process-wide LLVM options pipelines run with (llmcompiler.llvm.options): the IR
outliner on template C++, the same in the worker pool and in opt-19, chosen by
LLMC_LLVM_OPTIONS, and named in results."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.engine import Evaluator, Objective
from llmcompiler.engine.cache import llvm_version_string
from llmcompiler.errors import UsageError
from llmcompiler.llvm import berkeley_size, options
from llmcompiler.llvm.toolchain import llc_object, opt
from llmcompiler.program import load_program

ODR = "-enable-linkonceodr-ir-outlining"
OUTLINE = "default<Oz>,iroutliner"


@pytest.fixture(scope="module")
def templates():
    return load_program(FIXTURES / "templates.cc")


def test_options_follow_the_environment(monkeypatch):
    monkeypatch.delenv(options.ENV, raising=False)
    assert options.active() == (ODR,)
    assert options.needed_by(OUTLINE) == (ODR,)
    assert options.needed_by("default<Oz>,mergefunc") == ()
    assert ODR.lstrip("-") in llvm_version_string()
    monkeypatch.setenv(options.ENV, "none")
    assert options.active() == ()
    assert options.needed_by(OUTLINE) == ()
    assert llvm_version_string().count(" ") == 0
    monkeypatch.setenv(options.ENV, f" {ODR} ,")
    assert options.active() == (ODR,)
    monkeypatch.setenv(options.ENV, "-mergefunc-use-aliases")
    with pytest.raises(UsageError) as err:
        options.active()
    assert str(err.value) == (
        "LLMC_LLVM_OPTIONS: unknown option '-mergefunc-use-aliases'; use 'none' or a "
        "comma-separated list of -enable-linkonceodr-ir-outlining"
    )


def _sizes(program, monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv(options.ENV, raising=False)
    else:
        monkeypatch.setenv(options.ENV, setting)
    with Evaluator(jobs=1, timeout=60) as ev:  # a new worker reads the variable
        outlined, oz = ev.evaluate_many(program, [OUTLINE, "default<Oz>"], Objective())
    reference = berkeley_size(llc_object(opt(program.bitcode, OUTLINE, text=False)))
    return outlined.size, oz.size, reference.binary_size


def test_the_ir_outliner_reaches_template_functions_in_workers_and_opt(templates, monkeypatch):
    on, oz_on, reference_on = _sizes(templates, monkeypatch, None)
    off, oz_off, reference_off = _sizes(templates, monkeypatch, "none")
    # -Oz has no IR outliner: the same either way. Without the option the outliner
    # finds nothing in this file's template functions; with it, it shares their code.
    assert oz_on == oz_off == off
    assert on < off
    # opt-19 gets the same options as the workers, so the reference tools agree.
    assert (reference_on, reference_off) == (on, off)


def test_a_result_names_the_options_its_list_needs(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(options.ENV, raising=False)
    core = tmp_path / "core.json"
    core.write_text(json.dumps({"lists": [{"pipeline": OUTLINE}]}))
    run = ["optimize", str(FIXTURES / "templates.cc"), "--no-model", "--coreset", str(core)]
    assert main([*run, "--evaluations", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["best"]["pipeline"].endswith("iroutliner")
    assert result["llvm_options"] == [ODR]
    assert main([*run, "--evaluations", "3"]) == 0
    assert f"(reproduce it with opt-19 {ODR} -passes=...)" in capsys.readouterr().out
    # Without the option no list holds it, whatever search finds.
    monkeypatch.setenv(options.ENV, "none")
    assert main([*run, "--evaluations", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["llvm_options"] == []
