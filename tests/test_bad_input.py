"""Property-based tests: whatever a file holds and whatever it is called, ``llmc`` answers
with exit 0, 1 or 2 and ``llmc: error:`` lines; never a traceback, a stray file, an
escape sequence on the terminal or a worker process left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.cli.report import printable
from llmcompiler.llvm.toolchain import tool

#: small and reproducible: each example runs llmc (and clang) once
FEW = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TINY_C = b"int twice(int x) { return 2 * x; }\nint main(void) { return twice(3) - 6; }\n"
TINY_IR = (FIXTURES / "tiny.ll").read_bytes()

#: hand-written modules the parser or the verifier rejects, one per kind of mistake
BROKEN_IR = {
    "undefined value": "define i32 @f(i32 %a) {\n  %x = add i32 %a, %nope\n  ret i32 %x\n}\n",
    "missing terminator": "define i32 @f(i32 %a) {\n  %x = add i32 %a, 1\n}\n",
    "type mismatch": "define i32 @f(i64 %a) {\n  %x = add i32 %a, 1\n  ret i32 %x\n}\n",
    "wrong return type": "define i32 @f(i32 %a) {\n  ret void\n}\n",
    "self reference": "define i32 @f(i32 %a) {\n  %x = add i32 %x, 1\n  ret i32 %x\n}\n",
    "bad phi": (
        "define i32 @f(i1 %c, i32 %a) {\nentry:\n  br i1 %c, label %l, label %m\n"
        "l:\n  br label %m\nm:\n  %p = phi i32 [ %a, %l ]\n  ret i32 %p\n}\n"
    ),
    "use not dominated": (
        "define i32 @f(i1 %c, i32 %a) {\nentry:\n  br i1 %c, label %l, label %m\n"
        "l:\n  %y = add i32 %a, 1\n  br label %m\nm:\n  %z = add i32 %y, 1\n  ret i32 %z\n}\n"
    ),
    "instruction after terminator": (
        "define i32 @f(i32 %a) {\nentry:\n  ret i32 %a\n  %x = add i32 %a, 1\n  br label %x\n}\n"
    ),
}


@pytest.fixture(scope="module")
def bitcode(tmp_path_factory) -> bytes:
    """A tiny C program as clang-19 -c -emit-llvm writes it."""
    folder = tmp_path_factory.mktemp("bitcode")
    (folder / "tiny.c").write_bytes(TINY_C)
    subprocess.run(
        [tool("clang"), "-c", "-emit-llvm", "tiny.c", "-o", "tiny.bc"], cwd=folder, check=True
    )
    return (folder / "tiny.bc").read_bytes()


def _files(folder: str) -> set[str]:
    return {os.path.join(d, f) for d, _, names in os.walk(folder) for f in names}


@contextmanager
def _workdir(tmp_path):
    """A fresh folder for one example, the current directory while it runs."""
    folder = tempfile.mkdtemp(dir=tmp_path)
    here = os.getcwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(here)
        shutil.rmtree(folder)


def _llmc(capsys, folder: str, argv: list[str], output: str | None = None):
    """Run ``main(argv)`` in ``folder`` and check what must hold whatever the input: an exit
    code of 0, 1 or 2, an ``llmc: error:`` line on failure, no traceback, no escape
    sequence, no file written but ``output``, no process left. Returns (code, captured)."""
    before, others = _files(folder), _children()
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    captured = capsys.readouterr()
    assert code in (0, 1, 2), captured.err
    assert "Traceback" not in captured.err
    if code == 1:
        assert any(ln.startswith("llmc: error: ") for ln in captured.err.splitlines())
    assert "\x1b" not in captured.err and "\x1b" not in captured.out
    written = _files(folder) - before
    assert written <= ({os.path.join(folder, output)} if output else set()), written
    deadline = time.monotonic() + 5
    while _children() - others and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children() - others == set()
    return code, captured


def _children() -> set[int]:
    """This process's live child processes (a session's shared evaluator among them)."""
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                pids.add(child.pid)
        except psutil.Error:  # gone meanwhile
            pass
    return pids


@FEW
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".ll", ".bc", ".c"]))
def test_random_bytes(data, suffix, tmp_path, capsys):
    with _workdir(tmp_path) as folder:
        with open(f"input{suffix}", "wb") as f:
            f.write(data)
        code, captured = _llmc(capsys, folder, ["size", "--no-cache", f"input{suffix}"])
    assert code in (0, 1)


@FEW
@given(cut=st.integers(min_value=0, max_value=1 << 20), flips=st.binary(max_size=3))
def test_truncated_and_damaged_bitcode(cut, flips, bitcode, tmp_path, capsys):
    data = bytearray(bitcode[: cut % len(bitcode)])  # never the whole file
    for i, byte in enumerate(flips):  # damage a byte or three too
        if data:
            data[(cut >> (4 * i)) % len(data)] = byte
    with _workdir(tmp_path) as folder:
        with open("cut.bc", "wb") as f:
            f.write(data)
        code, captured = _llmc(capsys, folder, ["size", "--no-cache", "--json", "cut.bc"])
    assert code in (0, 1)
    [row] = json.loads(captured.out)
    assert row["file"] == "cut.bc"
    assert code == 0 or row["error"].startswith("cut.bc")


@pytest.mark.parametrize("kind", sorted(BROKEN_IR))
def test_invalid_ir(kind, tmp_path, capsys):
    with _workdir(tmp_path) as folder:
        with open("broken.ll", "w") as f:
            f.write(BROKEN_IR[kind])
        code, captured = _llmc(capsys, folder, ["opt", "--no-cache", "broken.ll", "-p", "sroa"])
    if kind == "instruction after terminator":  # the parser opens an unreachable block
        assert code in (0, 1)
    else:
        assert code == 1
        assert captured.err.startswith("llmc: error: broken.ll")


@FEW
@given(line=st.integers(min_value=0, max_value=200), swap=st.booleans())
def test_ir_with_a_line_cut_or_swapped(line, swap, tmp_path, capsys):
    lines = TINY_IR.splitlines(keepends=True)
    i = line % len(lines)
    if swap and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    else:
        del lines[i]
    with _workdir(tmp_path) as folder:
        with open("edited.ll", "wb") as f:
            f.write(b"".join(lines))
        code, _ = _llmc(capsys, folder, ["size", "--no-cache", "--fast-size", "edited.ll"])
    assert code in (0, 1)


#: file names: any character a Linux name may hold (bar "/" and NUL), option-like or not
NAMES = st.builds(
    lambda lead, body, suffix: lead + body + suffix,
    st.sampled_from(["", "-", "--", "-o", "--config=", "-fplugin=", " "]),
    st.text(  # not empty: ".c" alone is a hidden file without a suffix
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from([".c", ".ll"]),
)


@settings(FEW, max_examples=20)
@given(name=NAMES)
def test_any_file_name(name, tmp_path, capsys):
    with _workdir(tmp_path) as folder:
        with open(name, "wb") as f:
            f.write(TINY_C if name.endswith(".c") else TINY_IR)
        out = "out\x1b[1m.ll"
        argv = ["opt", "--no-cache", "--fast-size", "-p", "function(sroa)", "-o", out]
        code, captured = _llmc(capsys, folder, [*argv, "--", name], output=out)
    assert code == 0, captured.err
    assert f"\n{printable(name)}  " in captured.out  # the table's row, escaped


def test_huge_file_fails_quickly(tmp_path, capsys):
    junk = tmp_path / "huge.ll"
    with open(junk, "wb") as f:
        line = b"this is not IR \x1b[2J " * 50 + b"\n"
        for _ in range(50 * 2**20 // len(line)):
            f.write(line)
    start = time.monotonic()
    with _workdir(tmp_path) as folder:
        code, captured = _llmc(capsys, folder, ["size", "--no-cache", str(junk)])
    assert time.monotonic() - start < 30
    assert code == 1
    [message] = captured.err.splitlines()
    assert message.startswith(f"llmc: error: {junk}:1:1: error:") and len(message) < 1000
