"""The llmc command, called through main(argv) and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.llvm import Module, berkeley_size
from llmcompiler.llvm.toolchain import llc_object, llvm_size, opt
from llmcompiler.program import load_program

LOOPS = str(FIXTURES / "loops.c")
TINY = str(FIXTURES / "tiny.ll")


def _reference(path: str, pipeline: str) -> tuple[int, int]:
    from conftest import count_ir_text

    program = load_program(path)
    ir = opt(program.bitcode, pipeline or "verify")
    return count_ir_text(ir.decode()), berkeley_size(llc_object(ir)).binary_size


def test_size_json_matches_reference_tools(capsys):
    assert main(["size", LOOPS, TINY, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in rows] == [LOOPS, TINY]
    for row in rows:
        assert set(row) == {"file", "input", "oz"}
        assert (row["input"]["instcount"], row["input"]["size"]) == _reference(row["file"], "")
        oz = _reference(row["file"], "default<Oz>")
        assert (row["oz"]["instcount"], row["oz"]["size"]) == oz


def test_size_table(capsys):
    assert main(["size", LOOPS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["file", "instcount", "size", "Oz", "instcount", "Oz", "size"]
    assert out[1].startswith(LOOPS)


def test_bad_inputs_fail_alone(capsys, tmp_path):
    bad = [str(FIXTURES / "garbage.ll"), str(FIXTURES / "invalid.ll")]
    code = main(
        [
            "size",
            LOOPS,
            "/missing.c",
            *bad,
            TINY,
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert errors[0] == "llmc: error: /missing.c: no such file"
    assert len(errors) == 3
    assert errors[1] == (
        f"llmc: error: {FIXTURES / 'garbage.ll'}:1:1: error: expected "
        "top-level entity (This is not LLVM IR at all.)"
    )
    assert errors[2].startswith(f"llmc: error: {FIXTURES / 'invalid.ll'}: IR verification failed")
    rows = json.loads(captured.out)  # every input has its record, in input order
    assert [r["file"] for r in rows] == [LOOPS, "/missing.c", *bad, TINY]
    assert [r["error"] for r in rows[1:4]] == [e.removeprefix("llmc: error: ") for e in errors]


def test_opt_unknown_pass_and_crash(capsys):
    assert main(["opt", LOOPS, "-p", "bogus"]) == 1
    assert capsys.readouterr().err == (
        f"llmc: error: {LOOPS}: invalid pipeline: unknown pass name 'bogus'\n"
    )
    assert main(["opt", LOOPS, TINY, "-p", "function(codegenprepare)"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"llmc: error: {LOOPS}: pipeline crashed LLVM: worker crashed")
    assert lines[1].startswith(f"llmc: error: {TINY}: pipeline crashed LLVM: worker crashed")
    # LLVM dies in code generation for one file; the other goes on.
    fatal = str(FIXTURES / "fatal_codegen.ll")
    assert main(["opt", fatal, TINY, "-p", "default<Oz>", "--fast-size", "--json"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"llmc: error: {fatal}: pipeline crashed LLVM: worker crashed")
    assert "LLVM ERROR" in lines[0]
    rows = json.loads(captured.out)
    assert rows[1]["file"] == TINY and rows[1]["instcount"] > 0


def test_opt_json_and_outputs(capsys, tmp_path):
    pipeline = "function(sroa,instcombine<no-verify-fixpoint>),globaldce"
    assert main(["opt", LOOPS, "-p", pipeline, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert set(row) == {"file", "pipeline", "instcount", "size"}
    assert (row["instcount"], row["size"]) == _reference(LOOPS, pipeline)
    for suffix in (".ll", ".bc", ".o", ".s"):
        out = tmp_path / f"out{suffix}"
        assert main(["opt", LOOPS, "-p", pipeline, "-o", str(out)]) == 0
        capsys.readouterr()
        data = out.read_bytes()
        if suffix in (".ll", ".bc"):
            assert Module.parse(data).instruction_count() == row["instcount"]
        elif suffix == ".o":
            text, data_size, _ = llvm_size(out)
            assert text + data_size == row["size"]
        else:
            assert b"main:" in data


def test_usage_errors(capsys, tmp_path):
    assert main(["opt", LOOPS, TINY, "-p", "sroa", "-o", str(tmp_path / "x.ll")]) == 2
    assert main(["opt", LOOPS, "-p", "sroa", "-o", str(tmp_path / "x.txt")]) == 2


def test_console_script_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "llmcompiler", "size", TINY], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert TINY in proc.stdout


def test_passes_command(capsys):
    assert main(["passes"]) == 0
    listing = capsys.readouterr()
    assert "instcombine<no-verify-fixpoint>" in listing.out
    assert "passes (LLVM 19)" in listing.err
    assert main(["passes", "--excluded"]) == 0
    assert "gvn-sink" in capsys.readouterr().out
    assert main(["passes", "--check", "mem2reg,licm,globaldce"]) == 0
    assert capsys.readouterr().out == "function(mem2reg,loop-mssa(licm)),globaldce\n"
    assert main(["passes", "--check", "function(gvn-sink)"]) == 1
    assert "llmc: error: pass 'gvn-sink' is excluded: nondeterministic" in capsys.readouterr().err
    assert main(["passes", "--legacy", "-mem2reg -constprop -gvn"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "function(mem2reg,gvn)\n"
    assert captured.err == (
        "llmc: warning: -constprop: not converted: ConstantPropagation was removed in "
        "LLVM 12; instsimplify does its job\n"
    )
