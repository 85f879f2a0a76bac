"""Loading programs: C, C++, IR and bitcode, with clear errors for bad input."""

from __future__ import annotations

import shutil

import pytest

from conftest import FIXTURES
from llmcompiler.errors import CompileError, InputError, InvalidIRError
from llmcompiler.program import load_program, load_programs, program_from_ir


def test_c_program_has_main_and_stable_hash(programs):
    again = load_program(FIXTURES / "loops.c")
    assert again.hash == programs["loops.c"].hash
    assert again.has_main and len(again.hash) == 64


def test_hash_ignores_the_file_name(tmp_path):
    copy = tmp_path / "renamed.c"
    shutil.copy(FIXTURES / "loops.c", copy)
    assert load_program(copy).hash == load_program(FIXTURES / "loops.c").hash


def test_ll_and_bc_of_same_module_share_hash(programs, tmp_path):
    from llmcompiler.llvm import Module

    text = Module.parse(programs["switch.c"].bitcode).to_text()
    (tmp_path / "s.ll").write_text(text)
    (tmp_path / "s.bc").write_bytes(programs["switch.c"].bitcode)
    assert load_program(tmp_path / "s.ll").hash == load_program(tmp_path / "s.bc").hash
    assert load_program(tmp_path / "s.bc").hash == programs["switch.c"].hash


def test_cpp_source_compiles():
    program = load_program(FIXTURES / "cpp_sample.cpp")
    assert program.has_main


def test_defines_and_include_dirs():
    path = FIXTURES / "needs_define.c"
    program = load_program(path, include_dirs=[str(FIXTURES / "include")], defines=["WIDTH=8"])
    assert program.has_main
    with pytest.raises(CompileError, match="WIDTH must be defined"):
        load_program(path, include_dirs=[str(FIXTURES / "include")])


def test_compile_error_shows_diagnostics():
    with pytest.raises(CompileError) as info:
        load_program(FIXTURES / "broken.c")
    message = str(info.value)
    assert message.startswith(f"{FIXTURES / 'broken.c'}: compilation failed:\n")
    assert "error:" in message


def test_ir_without_main_and_without_triple_gets_default_triple():
    program = load_program(FIXTURES / "tiny.ll")
    assert not program.has_main


def test_bad_inputs_have_one_clear_message(tmp_path):
    with pytest.raises(InputError, match=r"^/nonexistent\.c: no such file$"):
        load_program("/nonexistent.c")
    with pytest.raises(InputError, match="is a directory$"):
        load_program(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"unsupported file type '\.txt'"):
        load_program(tmp_path / "notes.txt")
    with pytest.raises(InvalidIRError):
        load_program(FIXTURES / "garbage.ll")
    with pytest.raises(InvalidIRError, match="IR verification failed"):
        load_program(FIXTURES / "invalid.ll")
    with pytest.raises(InvalidIRError):
        program_from_ir(b"BC\xc0\xde garbage", "bad.bc")


def test_load_programs_keeps_going_after_a_bad_file():
    paths = [str(FIXTURES / "loops.c"), "/missing.c", str(FIXTURES / "tiny.ll")]
    loaded = list(load_programs(paths, jobs=2))
    assert [p for p, _ in loaded] == paths
    assert isinstance(loaded[1][1], InputError)
    assert loaded[0][1].has_main and not loaded[2][1].has_main
