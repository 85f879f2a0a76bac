"""C and C++ for any target: --target, -mcpu=... and the other target options through the
real CLI, the LLMC_TARGET / LLMC_TARGET_FLAGS defaults, Debian's headers found for Linux
cross, bare-metal (picolibc) and WASI targets, the hint when headers are missing, and
``llmc targets``."""

from __future__ import annotations

import json
import re
from importlib import resources

import jsonschema
import pytest

from llmcompiler.cli import build_parser, main
from llmcompiler.llvm import berkeley_size
from llmcompiler.llvm.sysroots import headers
from llmcompiler.llvm.toolchain import compile_source, llc_object, llvm_size, opt

#: A small program that needs the C library's headers.
PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>

uint32_t checksum(const char *text) {
    uint32_t sum = 0;
    for (size_t i = 0; i < strlen(text); i++)
        sum = (sum << 5) + sum + (uint8_t)text[i];
    return sum;
}

int main(void) {
    char buffer[32];
    snprintf(buffer, sizeof buffer, "%u", (unsigned)checksum("llmc"));
    puts(buffer);
    return 0;
}
"""


def needs_headers(triple: str):
    found = headers(triple)
    return pytest.mark.skipif(
        not found.installed, reason=f"C headers for {triple}: apt-get install {found.package}"
    )


@pytest.fixture
def prog(tmp_path):
    path = tmp_path / "prog.c"
    path.write_text(PROGRAM)
    return str(path)


def _module(tmp_path, capsys, *argv: str) -> str:
    """The IR text ``llmc opt -p verify -o OUT.ll`` writes for ``argv``."""
    out = tmp_path / "out.ll"
    assert main(["opt", *argv, "-p", "verify", "-o", str(out), "--jobs", "1"]) == 0
    capsys.readouterr()
    return out.read_text()


def _triple(ir: str) -> str:
    return re.search(r'^target triple = "([^"]+)"', ir, re.M)[1]


def _cpus(ir: str) -> set[str]:
    return set(re.findall(r'"target-cpu"="([^"]+)"', ir))


def test_the_target_options_reach_clang_in_their_order():
    argv = ["size", "x.c", "--target=a-b-c", "-mcpu", "m4", "-isystem", "/inc", "-I", "i"]
    argv += ["-target", "d-e-f", "-march=rv32", "-mfloat-abi=hard", "-mabi=ilp32"]
    args = build_parser().parse_args([*argv, "--sysroot", "/s"])
    assert args.target_flags == [
        "--target=a-b-c",
        "-mcpu=m4",
        "-isystem",
        "/inc",
        "--target=d-e-f",
        "-march=rv32",
        "-mfloat-abi=hard",
        "-mabi=ilp32",
        "--sysroot=/s",
    ]
    assert args.include == ["i"]
    assert build_parser().parse_args(["size", "x.c"]).target_flags == []


@needs_headers("aarch64-linux-gnu")
def test_aarch64_linux_size_equals_the_reference_tools(prog, tmp_path, capsys):
    assert main(["size", "--target", "aarch64-linux-gnu", prog, "--json", "--jobs", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    ir = _module(tmp_path, capsys, "--target", "aarch64-linux-gnu", prog)
    triple = _triple(ir)
    assert triple == "aarch64-unknown-linux-gnu"
    bitcode = compile_source(prog, extra_flags=["--target=aarch64-linux-gnu"])
    oz = opt(bitcode, "default<Oz>", triple=triple)
    obj = tmp_path / "oz.o"
    obj.write_bytes(llc_object(oz, triple=triple))
    assert obj.read_bytes()[18:20] == (183).to_bytes(2, "little")  # e_machine: AArch64
    text, data, _ = llvm_size(obj)
    assert row["oz"]["size"] == text + data == berkeley_size(obj.read_bytes()).binary_size
    assert 0 < row["oz"]["size"] < row["input"]["size"]


@needs_headers("thumbv7em-none-eabi")
def test_cortex_m4_with_picolibc_headers(prog, tmp_path, capsys):
    argv = ["--target", "thumbv7em-none-eabi", "-mcpu=cortex-m4", prog]
    assert main(["size", *argv, "--jobs", "1"]) == 0
    assert capsys.readouterr().err == ""
    ir = _module(tmp_path, capsys, *argv)
    assert _triple(ir) == "thumbv7em-unknown-none-eabi"
    assert _cpus(ir) == {"cortex-m4"}
    assert '"use-soft-float"="true"' in ir  # the eabi default: soft float


@needs_headers("thumbv7em-none-eabi")
def test_mfloat_abi_reaches_clang_and_the_last_one_wins(prog, tmp_path, capsys):
    base = ["--target", "thumbv7em-none-eabi", "-mcpu=cortex-m4"]
    hard = _module(tmp_path, capsys, *base, "-mfloat-abi=soft", "-mfloat-abi=hard", prog)
    assert _triple(hard) == "thumbv7em-unknown-none-eabihf"
    assert '"use-soft-float"' not in hard
    assert "+vfp4d16sp" in hard
    soft = _module(tmp_path, capsys, *base, "-mfloat-abi=hard", "-mfloat-abi=soft", prog)
    assert '"use-soft-float"="true"' in soft


@needs_headers("riscv32-unknown-elf")
def test_riscv32_bare_metal_with_march_and_mabi(prog, tmp_path, capsys):
    ir = _module(tmp_path, capsys, "-target", "riscv32-unknown-elf", "-march=rv32imac", prog)
    assert _triple(ir) == "riscv32-unknown-unknown-elf"
    assert "+c" in re.search(r'"target-features"="([^"]+)"', ir)[1].split(",")


@needs_headers("wasm32-wasi")
def test_wasm32_wasi_with_stdio(prog, tmp_path, capsys):
    assert main(["size", "--target=wasm32-wasi", prog, "--json", "--jobs", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["oz"]["size"] > 0
    assert _triple(_module(tmp_path, capsys, "--target=wasm32-wasi", prog)) == (
        "wasm32-unknown-wasi"
    )


@needs_headers("thumbv7em-none-eabi")
@needs_headers("aarch64-linux-gnu")
def test_environment_defaults_and_the_command_line_wins(prog, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LLMC_TARGET", "thumbv7em-none-eabi")
    monkeypatch.setenv("LLMC_TARGET_FLAGS", "-mcpu=cortex-m4 '-mfloat-abi=soft'")
    ir = _module(tmp_path, capsys, prog)
    assert (_triple(ir), _cpus(ir)) == ("thumbv7em-unknown-none-eabi", {"cortex-m4"})
    ir = _module(tmp_path, capsys, "-mcpu=cortex-m7", prog)  # the target stays, the CPU not
    assert (_triple(ir), _cpus(ir)) == ("thumbv7em-unknown-none-eabi", {"cortex-m7"})
    ir = _module(tmp_path, capsys, "--target", "aarch64-linux-gnu", prog)  # drops both
    assert (_triple(ir), _cpus(ir)) == ("aarch64-unknown-linux-gnu", {"generic"})
    monkeypatch.setenv("LLMC_TARGET_FLAGS", "-mcpu='cortex-m4")
    assert main(["size", prog]) == 2
    assert capsys.readouterr().err == "llmc: error: LLMC_TARGET_FLAGS: No closing quotation\n"


def _fails(capsys, *argv: str) -> list[str]:
    assert main(["size", *argv, "--jobs", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()


@pytest.mark.skipif(headers("sparc64-linux-gnu").installed, reason="sparc64 headers installed")
def test_missing_headers_name_the_debian_package(prog, capsys):
    err = _fails(capsys, "--target", "sparc64-linux-gnu", prog)
    assert err[0] == f"llmc: error: {prog}: compilation failed:"
    assert any(re.search(r"fatal error: '[^']+' file not found", line) for line in err)
    assert err[-1] == (
        "llmc: note: headers for sparc64-linux-gnu come from the Debian package "
        "libc6-dev-sparc64-cross"
    )


def test_targets_without_a_debian_package_say_so(prog, capsys):
    err = _fails(capsys, "--target", "x86_64-apple-macosx", prog, prog)
    assert [line for line in err if line.startswith("llmc: note:")] == [  # once per run
        "llmc: note: no Debian package has C headers for x86_64-apple-macosx: give them with "
        "--sysroot=DIR or -isystem DIR"
    ]
    assert len([line for line in err if line.startswith("llmc: error:")]) == 2


@needs_headers("aarch64-linux-gnu")
def test_a_sysroot_that_hides_installed_headers(prog, capsys):
    err = _fails(capsys, "--target", "aarch64-linux-gnu", "--sysroot=/nonexistent", prog)
    assert "file not found" in "\n".join(err)
    assert err[-1] == (
        "llmc: note: headers for aarch64-linux-gnu are installed in /usr/aarch64-linux-gnu/"
        "include (Debian package libc6-dev-arm64-cross), but the flags given choose other "
        "headers"
    )


def test_a_missing_header_of_the_users_own_gets_no_note(tmp_path, capsys):
    source = tmp_path / "own.c"
    source.write_text('#include "nowhere.h"\nint x;\n')
    err = _fails(capsys, str(source))
    assert "'nowhere.h' file not found" in "\n".join(err)
    assert not [line for line in err if line.startswith("llmc: note:")]


def test_ir_keeps_its_own_triple_and_a_different_target_is_warned_once(tmp_path, capsys):
    modules = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.ll"
        path.write_text(
            'target triple = "x86_64-pc-linux-gnu"\n'
            "define i32 @f(i32 %x) {\n  %y = mul i32 %x, 3\n  ret i32 %y\n}\n"
        )
        modules.append(str(path))
    assert main(["size", "--target", "aarch64-linux-gnu", *modules, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"llmc: warning: --target aarch64-linux-gnu applies to C/C++ sources only: "
        f"{modules[0]} and other .ll/.bc files keep their own triple (x86_64-pc-linux-gnu)\n"
    )
    assert [r["file"] for r in json.loads(captured.out)] == modules
    assert main(["size", "--target", "x86_64-linux-gnu", *modules]) == 0  # the same target
    assert capsys.readouterr().err == ""


FORMATS = {
    "x86_64-linux-gnu": "elf",
    "x86_64-apple-macosx": "macho",
    "x86_64-windows-msvc": "coff",
    "i386-linux-gnu": "elf",
    "aarch64-linux-gnu": "elf",
    "armv7-linux-gnueabihf": "elf",
    "thumbv7em-none-eabi": "elf",
    "riscv32-unknown-elf": "elf",
    "riscv64-linux-gnu": "elf",
    "wasm32-wasi": "wasm",
    "powerpc64le-linux-gnu": "elf",
    "s390x-linux-gnu": "elf",
    "mips-linux-gnu": "elf",
}


def test_targets_lists_the_13_triples(capsys):
    assert main(["targets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    schema = resources.files("llmcompiler.data").joinpath("schemas/targets.json").read_text()
    jsonschema.Draft202012Validator(json.loads(schema)).validate(rows)
    assert {r["triple"]: r["object_format"] for r in rows} == FORMATS
    assert list(FORMATS) == [r["triple"] for r in rows]
    by_triple = {r["triple"]: r for r in rows}
    assert by_triple["thumbv7em-none-eabi"]["relocation_model"] == "static"
    assert by_triple["thumbv7em-none-eabi"]["headers"]["package"] == "picolibc-arm-none-eabi"
    assert by_triple["aarch64-linux-gnu"]["headers"]["package"] == "libc6-dev-arm64-cross"
    assert by_triple["x86_64-apple-macosx"]["headers"]["package"] is None
    for firmware in ("thumbv7em-none-eabi", "riscv32-unknown-elf", "x86_64-apple-macosx"):
        assert not by_triple[firmware]["runs"]
        assert by_triple[firmware]["why_not"].startswith(f"cannot run {firmware} here (")
    assert main(["targets"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "triple", "format", "relocation", "coreset", "C", "headers", "runs", "here"
    ]  # fmt: skip
    assert by_triple["thumbv7em-none-eabi"]["coreset"] == "arm"
    assert by_triple["mips-linux-gnu"]["coreset"] == "x86_64"  # none learned for mips
    assert [line.split()[:2] for line in table[1:]] == [[t, f] for t, f in FORMATS.items()]


def test_targets_of_given_triples_and_an_unknown_one(capsys):
    assert main(["targets", "sparc64-linux-gnu", "nonsense-triple", "--json"]) == 1
    captured = capsys.readouterr()
    (row,) = json.loads(captured.out)
    assert row["triple"] == "sparc64-linux-gnu"
    assert row["headers"]["package"] == "libc6-dev-sparc64-cross"
    assert captured.err.startswith("llmc: error: unsupported target triple 'nonsense-triple'")
