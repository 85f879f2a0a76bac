"""Every --json output validates against the JSON Schema shipped in the package."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from conftest import FIXTURES
from llmcompiler.cli import main

COMMANDS = ("size", "opt", "optimize", "inspect", "narrow", "disasm", "emulate", "cache", "report")


def schema(command: str) -> dict:
    return json.loads(
        resources.files("llmcompiler.data").joinpath(f"schemas/{command}.json").read_text()
    )


def check(command: str, data) -> None:
    jsonschema.Draft202012Validator(schema(command)).validate(data)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_schema_is_a_valid_schema(command):
    jsonschema.Draft202012Validator.check_schema(schema(command))


def _json(capsys, argv: list[str], code: int):
    assert main([*argv, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def test_size_and_opt_outputs_match_their_schemas(capsys):
    files = [str(FIXTURES / "loops.c"), str(FIXTURES / "broken.c")]
    rows = _json(capsys, ["size", *files, "--no-cache"], 1)
    check("size", rows)
    assert [("error" in r) for r in rows] == [False, True]
    rows = _json(capsys, ["opt", *files, "-p", "function(sroa)", "--no-cache"], 1)
    check("opt", rows)
    with pytest.raises(jsonschema.ValidationError):  # the schema can fail
        check("size", [{"file": "x.c", "input": {"instcount": 1}}])


def test_optimize_output_matches_its_schema(capsys):
    source = str(FIXTURES / "switch.c")
    for method in ("local", "model"):
        argv = ["optimize", source, "--method", method, "--evaluations", "10", "--no-cache"]
        rows = _json(capsys, [*argv, "--validate"], 0)
        check("optimize", rows)
    assert rows[0]["proposals"]  # the model's lists are part of the record
    with pytest.raises(jsonschema.ValidationError):
        check("optimize", [{**rows[0], "validated": "yes"}])


def test_inspect_and_narrow_outputs_match_their_schemas(capsys):
    data = _json(capsys, ["inspect", str(FIXTURES / "loops.c"), "--passes", "default<Oz>"], 0)
    check("inspect", data)
    assert data["after"]
    narrow_c = FIXTURES.parent / "analysis" / "narrow.c"
    check("narrow", _json(capsys, ["narrow", str(narrow_c)], 0))


def test_cache_info_matches_its_schema(tmp_path, capsys):
    cache = str(tmp_path / "results.sqlite")
    check("cache", _json(capsys, ["cache", "info", "--cache", cache], 0))
    assert main(["size", str(FIXTURES / "loops.c"), "--cache", cache]) == 0
    capsys.readouterr()
    info = _json(capsys, ["cache", "info", "--cache", cache], 0)
    check("cache", info)
    assert info["rows"] == 2  # as given and at -Oz
