"""--model builtin|PATH: what each choice loads, and the message for each wrong one."""

from __future__ import annotations

import pytest

from llmcompiler.cli import main
from llmcompiler.errors import ModelError
from llmcompiler.model.builtin import RankerModel, builtin_path
from llmcompiler.model.loading import load_pass_list_model, load_text_model


def test_builtin_is_the_shipped_ranker():
    model = load_pass_list_model("builtin")
    assert isinstance(model, RankerModel)
    assert model.name.startswith("builtin")


def test_builtin_for_instruction_count_is_the_one_learned_for_it():
    size, instcount = (load_pass_list_model("builtin", objective=o) for o in ("size", "instcount"))
    assert size.name == "builtin (llmcompiler ranker, size)"
    assert instcount.name == "builtin (llmcompiler ranker, instcount)"
    assert builtin_path("instcount") == builtin_path() / "instcount"
    assert instcount.ranker.meta["training"]["objective"] == "instcount"
    assert instcount.ranker.lists != size.ranker.lists


def test_a_ranker_directory_loads_as_a_pass_list_model_only():
    assert isinstance(load_pass_list_model(str(builtin_path())), RankerModel)
    with pytest.raises(ModelError, match="a ranker proposes pass lists only"):
        load_text_model(str(builtin_path()))


def test_builtin_is_not_a_text_model():
    with pytest.raises(ModelError, match="^the built-in model proposes pass lists only"):
        load_text_model("builtin")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing", "no such model (give 'builtin' or a model directory)"),
        (lambda d: (d / "f.bin").write_bytes(b"x") and d / "f.bin", "a model is a directory"),
        (lambda d: d, "not a Hugging Face checkpoint (no config.json) and not a ranker"),
    ],
)
def test_bad_model_paths(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ModelError, match="^" + str(path).replace(".", r"\.")) as info:
        load_pass_list_model(str(path))
    assert message in str(info.value)


def test_optimize_with_a_bad_model_is_one_message(tmp_path, capsys):
    path = tmp_path / "nothing"
    rc = main(["optimize", "tests/fixtures/programs/loops.c", "--model", str(path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert err == f"llmc: error: {path}: no such model (give 'builtin' or a model directory)\n"
