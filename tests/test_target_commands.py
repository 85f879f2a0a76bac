"""The target options on the single-file commands (``llmc inspect``, ``narrow``, ``tasks
emulate``), ``narrow --apply`` on a target whose programs cannot run here, and C++ for a
Linux cross target: its size with Debian's cross libstdc++, its validation under qemu."""

from __future__ import annotations

import glob
import json

import pytest

from llmcompiler.cli import main
from llmcompiler.llvm.runtime import runtime_for, why_not
from llmcompiler.llvm.sysroots import header_flags, headers
from llmcompiler.llvm.toolchain import opt
from llmcompiler.program import load_program
from llmcompiler.search.validate import RunSpec, Validator

#: Defines a function named after the architecture it is compiled for, and a main that
#: prints through the C library (headers from the target's sysroot or picolibc).
PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>

#if defined(__aarch64__)
int compiled_for_aarch64(int x) { return x + 1; }
#elif defined(__thumb__)
int compiled_for_thumb(int x) { return x + 2; }
#else
int compiled_for_another_target(int x) { return x + 3; }
#endif

static volatile uint32_t limit = 200;

int main(void) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < 100 && i < limit; i++) total += i & 0xff;
    printf("%u\n", (unsigned)total);
    return 0;
}
"""

#: A template, std::vector and iostream; SCALE changes what it prints.
CXX_PROGRAM = r"""
#include <iostream>
#include <vector>

#ifndef SCALE
#define SCALE 1
#endif

template <typename T>
T sum(const std::vector<T> &values) {
    T total{};
    for (const T &v : values) total += v;
    return total;
}

int main() {
    std::vector<int> squares;
    for (int i = 1; i <= 10; i++) squares.push_back(i * i * SCALE);
    std::cout << "sum=" << sum(squares) << " n=" << squares.size() << std::endl;
    return 0;
}
"""


def needs_c_headers(triple: str):
    found = headers(triple)
    return pytest.mark.skipif(
        not found.installed, reason=f"C headers for {triple}: apt-get install {found.package}"
    )


#: Debian's cross libstdc++ headers and library for aarch64 (libstdc++-12-dev-arm64-cross).
needs_aarch64_cxx = pytest.mark.skipif(
    not glob.glob("/usr/aarch64-linux-gnu/include/c++/*/aarch64-linux-gnu/bits/c++config.h")
    or not glob.glob("/usr/lib/gcc-cross/aarch64-linux-gnu/*/libstdc++.so"),
    reason="C++ for aarch64: apt-get install libstdc++-12-dev-arm64-cross",
)


def _skip_unless_runnable(triple: str) -> None:
    if runtime_for(triple) is None:
        pytest.skip(why_not(triple))


@pytest.fixture
def prog(tmp_path):
    path = tmp_path / "prog.c"
    path.write_text(PROGRAM)
    return str(path)


@pytest.fixture
def cxx_prog(tmp_path):
    path = tmp_path / "prog.cc"
    path.write_text(CXX_PROGRAM)
    return str(path)


def _functions(capsys, argv: list[str]) -> set[str]:
    assert main(argv) == 0
    return {f["name"] for f in json.loads(capsys.readouterr().out)["before"]}


@needs_c_headers("aarch64-linux-gnu")
def test_inspect_compiles_for_the_target_given(prog, capsys):
    on_aarch64 = _functions(capsys, ["inspect", "--target", "aarch64-linux-gnu", prog, "--json"])
    assert on_aarch64 == {"compiled_for_aarch64", "main"}
    assert _functions(capsys, ["inspect", prog, "--json"]) == {
        "compiled_for_another_target",
        "main",
    }


@needs_c_headers("aarch64-linux-gnu")
def test_inspect_reads_the_target_from_the_environment(prog, capsys, monkeypatch):
    monkeypatch.setenv("LLMC_TARGET", "aarch64-linux-gnu")
    assert _functions(capsys, ["inspect", prog, "--json"]) == {"compiled_for_aarch64", "main"}
    assert main(["inspect", prog, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["triple"] == "aarch64-unknown-linux-gnu"


@needs_c_headers("thumbv7em-none-eabi")
def test_narrow_apply_on_firmware_skips_the_run_and_says_why(prog, tmp_path, capsys):
    out = tmp_path / "fw.ll"
    target = ["--target", "thumbv7em-none-eabi", "-mcpu", "cortex-m4"]
    assert main(["narrow", prog, *target, "--apply", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    flags = ["--target=thumbv7em-none-eabi"]
    triple = load_program(prog, flags=flags + header_flags(flags)).triple
    text = f"not validated: cannot run {triple} here (no operating system)"
    assert f"differential run: skipped ({text})" in captured.out
    assert f"llmc: warning: {prog}: {text}\n" in captured.err
    ir = out.read_text()
    assert f'target triple = "{triple}"' in ir
    assert "compiled_for_thumb" in ir and '"target-cpu"="cortex-m4"' in ir

    assert main(["narrow", prog, *target, "--apply", "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verified"] is True and data["differential"] is None


@needs_c_headers("aarch64-linux-gnu")
def test_narrow_apply_runs_an_aarch64_program_under_its_emulator(prog, tmp_path, capsys):
    _skip_unless_runnable("aarch64-linux-gnu")
    out = tmp_path / "narrow.ll"
    argv = ["narrow", prog, "--target", "aarch64-linux-gnu", "--apply", "-o", str(out), "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["opportunities"]
    assert data["differential"] == {"same": True, "detail": "same output and exit status as -O0"}


def test_emulate_compiles_for_the_target_given(tmp_path, capsys):
    """The source compiles only for aarch64; the builtin model then cannot do the task,
    so the command gets as far as loading the model."""
    path = tmp_path / "only_aarch64.c"
    path.write_text("#ifndef __aarch64__\n#error not aarch64\n#endif\nint f(int x) { return x; }\n")
    assert main(["emulate", str(path), "-p", "mem2reg"]) == 1
    assert "not aarch64" in capsys.readouterr().err
    assert main(["emulate", "--target", "aarch64-linux-gnu", str(path), "-p", "mem2reg"]) == 1
    err = capsys.readouterr().err
    assert "not aarch64" not in err and "model" in err


@needs_aarch64_cxx
def test_size_of_cxx_for_aarch64(cxx_prog, capsys):
    assert main(["size", "--target", "aarch64-linux-gnu", cxx_prog, "--json", "--jobs", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["file"] == cxx_prog
    assert 0 < row["oz"]["size"] < row["input"]["size"]
    program = load_program(cxx_prog, flags=["--target=aarch64-linux-gnu"])
    assert program.triple.startswith("aarch64-") and program.has_main


@needs_aarch64_cxx
def test_cxx_validates_under_qemu_for_aarch64(cxx_prog, tmp_path):
    _skip_unless_runnable("aarch64-linux-gnu")
    program = load_program(cxx_prog, flags=["--target=aarch64-linux-gnu"])
    assert "clang++" in runtime_for(program.triple).link[0]  # the target's libstdc++ links
    validator = Validator(program, RunSpec(timeout=30))
    try:
        assert validator.expected.stdout == b"sum=385 n=10\n"
        assert validator.expected.returncode == 0
        candidate = opt(program.bitcode, "default<Oz>", text=False, triple=program.triple)
        assert validator.check(candidate) == (True, "same output and exit status as -O0")
        wrong = load_program(cxx_prog, defines=["SCALE=2"], flags=["--target=aarch64-linux-gnu"])
        candidate = opt(wrong.bitcode, "default<Oz>", text=False, triple=wrong.triple)
        assert validator.check(candidate) == (False, "output differs from -O0")
    finally:
        validator.close()
