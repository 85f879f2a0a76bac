"""Differential testing for other targets: Linux programs of other architectures run under
qemu-user, WASI modules under wasmtime; targets that cannot run here are never validated."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from llmcompiler.cli import main
from llmcompiler.engine import Evaluator
from llmcompiler.errors import LLMCError
from llmcompiler.llvm import Module
from llmcompiler.llvm.runtime import runtime_for, why_not
from llmcompiler.llvm.toolchain import FRONTEND_FLAGS, opt, tool
from llmcompiler.pipeline import OZ
from llmcompiler.program import Program, program_from_ir
from llmcompiler.search.accept import EXACT, Acceptance, LinkageCheck
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize
from llmcompiler.search.validate import Outcome, RunSpec, Validator

#: Prints what only the target's ABI gives (sizeof(long), the signedness of plain char,
#: the byte order) and a hash the optimizer cannot fold away easily.
PROGRAM = r"""
#include <stdio.h>
#ifndef SEED
#define SEED 7u
#endif
#ifndef STATUS
#define STATUS 0
#endif
static volatile unsigned rounds = 1001u;
static unsigned mix(unsigned h, unsigned v) { return (h ^ v) * 16777619u; }
int main(void) { /* main(argc, argv) is __main_argc_argv on wasm32 */
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < rounds; i++) h = mix(h, i * SEED);
    union { unsigned u; unsigned char b[4]; } probe = { 0x01020304u };
    char c = (char)-1;
    printf("long=%u char_signed=%d first_byte=%u hash=%08x\n",
           (unsigned)sizeof(long), c < 0, probe.b[0], h);
#ifdef SPIN
    for (volatile int forever = 1; forever;) {}
#endif
#ifdef TRAP
    if (h) __builtin_trap();
#endif
    return STATUS;
}
"""


def _hash(seed: int) -> str:
    h = 2166136261
    for i in range(1001):
        h = ((h ^ (i * seed & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


#: target -> (its sizeof(long), whether plain char is signed, the ELF e_machine or wasm)
TARGETS = {
    "aarch64-linux-gnu": (8, 0, 183),
    "armv7-linux-gnueabihf": (4, 0, 40),
    "riscv64-linux-gnu": (8, 0, 243),
    "wasm32-wasi": (4, 1, "wasm"),
}

#: What each target needs here, named as the package that provides it.
NEEDS = {
    "aarch64-linux-gnu": ("qemu-aarch64", "/usr/aarch64-linux-gnu", "libc6-dev-arm64-cross"),
    "armv7-linux-gnueabihf": ("qemu-arm", "/usr/arm-linux-gnueabihf", "libc6-dev-armhf-cross"),
    "riscv64-linux-gnu": ("qemu-riscv64", "/usr/riscv64-linux-gnu", "libc6-dev-riscv64-cross"),
}


def _skip_unless_runnable(triple: str) -> None:
    """Skip (naming the package to install) when this machine lacks the target's
    emulator, sysroot or wasmtime."""
    if triple in NEEDS:
        qemu, sysroot, package = NEEDS[triple]
        if not shutil.which(qemu):
            pytest.skip(f"{qemu} missing: apt-get install qemu-user")
        if not os.path.isdir(sysroot):
            pytest.skip(f"{sysroot} missing: apt-get install {package}")
    if runtime_for(triple) is None:
        pytest.skip(why_not(triple))


def compile_for(triple: str, name: str, source: str = PROGRAM, *defines: str) -> Program:
    """``source`` compiled by clang-19 for ``triple`` as the tuner's input (-Oz flags,
    no LLVM pass run)."""
    argv = [tool("clang"), f"--target={triple}", *FRONTEND_FLAGS, "-c", "-o", "-", "-w"]
    argv += [f"-D{d}" for d in defines] + ["-x", "c", "-"]
    proc = subprocess.run(argv, input=source.encode(), capture_output=True, check=True)
    return program_from_ir(proc.stdout, name)


def _machine(path: str) -> int | str:
    """The ELF e_machine of an executable, or 'wasm' for a WebAssembly module."""
    with open(path, "rb") as f:
        head = f.read(20)
    if head.startswith(b"\0asm"):
        return "wasm"
    assert head[:4] == b"\x7fELF"
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


@pytest.fixture(scope="module", params=list(TARGETS))
def target_case(request):
    """(triple, program, its validator) with the -O0 reference built and run once."""
    triple = request.param
    _skip_unless_runnable(triple)
    program = compile_for(triple, f"prog_{triple}.c")
    validator = Validator(program, RunSpec(timeout=20))
    yield triple, program, validator
    validator.close()


def test_the_reference_ran_on_the_target(target_case):
    triple, program, validator = target_case
    long_size, char_signed, machine = TARGETS[triple]
    assert program.triple.startswith(triple.split("-")[0])
    assert _machine(os.path.join(validator._dir.name, "reference")) == machine
    want = f"long={long_size} char_signed={char_signed} first_byte=4 hash={_hash(7)}\n"
    assert validator.expected.stdout == want.encode()
    assert validator.expected.returncode == 0 and validator.unusable is None


def test_the_oz_build_validates(target_case):
    triple, program, validator = target_case
    candidate = opt(program.bitcode, "default<Oz>", text=False, triple=program.triple)
    assert validator.check(candidate) == (True, "same output and exit status as -O0")
    assert _machine(os.path.join(validator._dir.name, "candidate")) == TARGETS[triple][2]


def test_a_candidate_printing_another_value_is_caught(target_case):
    triple, _, validator = target_case
    wrong = compile_for(triple, "wrong.c", PROGRAM, "SEED=11u")
    candidate = opt(wrong.bitcode, "default<Oz>", text=False, triple=wrong.triple)
    assert validator.check(candidate) == (False, "output differs from -O0")


def test_a_candidate_with_another_exit_status_is_caught(target_case):
    triple, _, validator = target_case
    wrong = compile_for(triple, "status.c", PROGRAM, "STATUS=3")
    assert validator.check(wrong.bitcode) == (False, "exit status 3, -O0 gives exit status 0")


def test_a_wasm_trap_and_a_wasm_endless_loop_fail_validation():
    triple = "wasm32-wasi"
    _skip_unless_runnable(triple)
    validator = Validator(compile_for(triple, "prog.c"), RunSpec(timeout=3))
    leftovers = set(glob.glob(os.path.join(tempfile.gettempdir(), "llmc-wasi-*")))
    try:
        trap = compile_for(triple, "trap.c", PROGRAM, "TRAP")
        assert validator.check(trap.bitcode) == (
            False,
            "killed by signal 4, -O0 gives exit status 0",
        )
        spin = compile_for(triple, "spin.c", PROGRAM, "SPIN")
        assert validator.check(spin.bitcode) == (
            False,
            "timed out after 3 s, -O0 gives exit status 0",
        )
    finally:
        validator.close()
    # the runner killed at the timeout left its folder in the validator's, which is gone
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "llmc-wasi-*"))) == leftovers


def test_a_c_program_using_libm_validates_under_qemu():
    triple = "aarch64-linux-gnu"
    _skip_unless_runnable(triple)
    source = (
        "#include <math.h>\n#include <stdio.h>\n"
        "volatile double two = 2.0;\n"
        'int main(void) { printf("%.3f\\n", sqrt(two)); return 0; }\n'
    )
    program = compile_for(triple, "libm.c", source)
    validator = Validator(program, RunSpec(timeout=20))
    try:
        assert validator.expected.stdout == b"1.414\n"
        candidate = opt(program.bitcode, "default<Oz>", text=False, triple=program.triple)
        assert validator.check(candidate)[0] is True
    finally:
        validator.close()


#: Targets whose programs cannot run here, and why.
NOT_RUNNABLE = {
    "thumbv7em-none-eabi": "no operating system",
    "riscv32-unknown-elf": "no operating system",
    "x86_64-apple-macosx": "Mach-O",
    "x86_64-windows-msvc": "COFF",
}

FREESTANDING = "int main(void) { volatile int x = 3; return x - 3; }\n"


@pytest.fixture(scope="module")
def pool():
    with Evaluator(jobs=2) as ev:
        yield ev


@pytest.mark.parametrize("triple", list(NOT_RUNNABLE))
def test_targets_that_cannot_run_here_are_never_validated(triple, pool):
    program = compile_for(triple, "bare.c", FREESTANDING)
    assert program.has_main
    text = f"cannot run {program.triple} here ({NOT_RUNNABLE[triple]})"
    assert runtime_for(program.triple) is None and why_not(program.triple) == text
    with pytest.raises(LLMCError) as err:
        Validator(program)
    assert str(err.value) == f"bare.c: not validated: {text}"
    oz = pool.evaluate(program, OZ, EXACT)
    with Acceptance(pool, program, oz, 0, LinkageCheck(pool, program), True, RunSpec()) as acc:
        assert acc.validator is None and acc.validation == f"not validated: {text}"
        kept = acc.finish()
    assert kept.validated is None and kept.validation == f"not validated: {text}"


@pytest.mark.parametrize("triple", ["thumbv7em-none-eabi", "riscv32-unknown-elf"])
def test_the_tuner_does_not_validate_firmware(triple, pool):
    program = compile_for(triple, "fw.c", FREESTANDING)
    r = optimize(pool, program, TuneConfig(Budget(None, 5), validate=True))
    assert r.validated is None
    assert r.validation == f"not validated: cannot run {program.triple} here (no operating system)"


def test_runnable_targets_have_no_reason():
    assert why_not("x86_64-unknown-linux-gnu") == ""
    host = runtime_for("x86_64-unknown-linux-gnu")
    assert host is not None and host.prefix == () and len(host.link) == 1
    assert host.run_argv("/x", ["a"]) == ["/x", "a"]


def test_cli_validates_an_aarch64_module(tmp_path, capsys):
    triple = "aarch64-linux-gnu"
    _skip_unless_runnable(triple)
    path = tmp_path / "prog_aarch64.ll"
    path.write_bytes(opt(compile_for(triple, "prog.c").bitcode, "verify"))
    argv = ["optimize", str(path), "--validate", "--budget", "2", "--no-cache", "--json"]
    assert main(argv) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["validated"] is True
    assert row["validation"] == "same output and exit status as -O0"
    assert main(argv[:-1]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].split()[-1] == "yes"
    assert "warning" not in captured.err


def test_cli_says_a_bare_metal_program_was_not_validated(tmp_path, capsys):
    program = compile_for("thumbv7em-none-eabi", "fw.c", FREESTANDING)
    path = tmp_path / "fw.ll"
    path.write_bytes(opt(program.bitcode, "verify"))
    argv = ["optimize", str(path), "--validate", "--evaluations", "5", "--no-cache", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    (row,) = json.loads(captured.out)
    text = f"not validated: cannot run {program.triple} here (no operating system)"
    assert row["validated"] is None and row["validation"] == text
    assert captured.err == f"llmc: warning: {path}: {text}\n"


#: main(argc, argv): clang names it __main_argc_argv on wasm32, and wasi-libc's _start
#: calls it with the arguments the runtime passes.
ARGV_PROGRAM = r"""
#include <stdio.h>
#ifndef SCALE
#define SCALE 3
#endif
int main(int argc, char **argv) {
    printf("argc=%d last=%s scaled=%d\n", argc, argv[argc - 1], SCALE * argc);
    return argc - 3;
}
"""


def test_a_wasm_main_with_argc_and_argv_is_validated():
    triple = "wasm32-wasi"
    program = compile_for(triple, "argv.c", ARGV_PROGRAM)
    with Module.parse(program.bitcode, "argv.c") as module:
        assert module.has_definition("__main_argc_argv") and not module.has_definition("main")
    assert program.has_main
    _skip_unless_runnable(triple)
    validator = Validator(program, RunSpec(args=("one", "two"), timeout=20))
    try:
        assert validator.expected == Outcome(b"argc=3 last=two scaled=9\n", 0)
        candidate = opt(program.bitcode, "default<Oz>", text=False, triple=program.triple)
        assert validator.check(candidate) == (True, "same output and exit status as -O0")
        wrong = compile_for(triple, "wrong.c", ARGV_PROGRAM, "SCALE=4")
        candidate = opt(wrong.bitcode, "default<Oz>", text=False, triple=wrong.triple)
        assert validator.check(candidate) == (False, "output differs from -O0")
    finally:
        validator.close()


def test_main_argc_argv_is_main_on_wasm_only():
    source = "int __main_argc_argv(int argc, char **argv) { return argc; }\n"
    assert not compile_for("x86_64-linux-gnu", "host.c", source).has_main
    assert compile_for("wasm32-wasi", "wasm.c", source).has_main
