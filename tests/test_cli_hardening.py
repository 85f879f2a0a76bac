"""Untrusted inputs and arguments: file names that look like options or hold terminal
escapes, files that are not programs, outputs that cannot be written, numbers that make
no sense, and more workers than the machine has."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import psutil
import pytest

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.cli import optimize as optimize_cli
from llmcompiler.cli.report import printable
from llmcompiler.engine import limits
from llmcompiler.llvm.toolchain import llc_object, llvm_size
from llmcompiler.program import load_program

TINY = str(FIXTURES / "tiny.ll")
LOOPS = str(FIXTURES / "loops.c")
#: compiles only when no option sneaked in
GUARDED = b"#ifdef EVIL\n#error an option took effect\n#endif\nint main(void) { return 0; }\n"


def _errors(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("llmc: error:")]


# -- 1. file names that look like options ----------------------------------------------


@pytest.mark.parametrize(
    "name", ["--config=evil.cfg.c", "-fplugin=evil.c", "-o.c", "-DEVIL.c", "@evil.c"]
)
def test_option_like_file_names_are_files(name, tmp_path, monkeypatch, capsys):
    (tmp_path / name).write_bytes(GUARDED)
    (tmp_path / "evil.cfg.c").write_text("-DEVIL\n")  # what --config=evil.cfg.c would read
    (tmp_path / "evil.c").write_text("-DEVIL\n")  # the response file @evil.c would name
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    assert main(["size", "--json", "--no-cache", "--", name]) == 0
    captured = capsys.readouterr()
    [row] = json.loads(captured.out)
    assert row["file"] == name and row["input"]["size"] > 0
    assert captured.err == ""
    assert set(os.listdir(tmp_path)) == before  # -o.c wrote nothing (no file ".c")


def test_llvm_size_reads_an_option_like_path(tmp_path, monkeypatch):
    obj = llc_object(load_program(TINY).bitcode)
    (tmp_path / "--version").write_bytes(obj)
    monkeypatch.chdir(tmp_path)
    text, data, _ = llvm_size("--version")
    assert text > 0 and data >= 0


# -- 2. control characters in names and diagnostics ------------------------------------


def test_printable_escapes_controls_keeps_newlines():
    assert printable("a\x1b[31mred\n\tb\r\x7f\x9b\u202e") == (
        "a\\x1b[31mred\n\tb\\x0d\\x7f\\x9b\\u202e"
    )
    assert printable("caf\udce9.c") == "caf\\xe9.c"  # an undecodable byte from argv
    assert printable("naïve.c") == "naïve.c"


def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path, capsys):
    bad = tmp_path / "a\x1b[31mred.c"
    bad.write_text("int main( {\n")
    good = tmp_path / "b\x1b]0;title\x07.c"
    good.write_bytes(GUARDED)
    assert main(["size", "--no-cache", str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.err and "\x1b" not in captured.out
    assert "\x07" not in captured.out
    assert "a\\x1b[31mred.c" in _errors(captured.err)[0]
    assert "b\\x1b]0;title\\x07.c" in captured.out


def test_undecodable_file_names(tmp_path, capsys):
    ir = tmp_path / os.fsdecode(b"caf\xe9.ll")  # not UTF-8: Python holds a lone surrogate
    ir.write_bytes((FIXTURES / "tiny.ll").read_bytes())
    source = tmp_path / os.fsdecode(b"b\xff.c")
    source.write_bytes(GUARDED)
    assert main(["size", "--no-cache", str(ir), str(source)]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path}/caf\\xe9.ll " in out and f"{tmp_path}/b\\xff.c " in out


def test_optimize_table_escapes_the_file_name(tmp_path, capsys):
    good = tmp_path / "c\x1b[2J.c"
    good.write_bytes(GUARDED)
    argv = ["optimize", str(good), "--evaluations", "2", "--no-model", "--no-coreset"]
    assert main([*argv, "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "c\\x1b[2J.c" in out


# -- 3. errors, not tracebacks; checked before the work --------------------------------


def _bad_outputs(tmp_path, suffix: str) -> list[str]:
    (tmp_path / "plain").write_text("")
    (tmp_path / f"folder{suffix}").mkdir()
    return [
        str(tmp_path / "missing" / f"out{suffix}"),
        str(tmp_path / "plain" / f"out{suffix}"),  # a file where a folder should be
        f"/proc/out{suffix}",  # not writable, even for root
        str(tmp_path / f"folder{suffix}"),  # a folder where the file should be
    ]


def test_output_checked_before_the_search(tmp_path, capsys, monkeypatch):
    def no_search(*args, **kwargs):
        raise AssertionError("the search ran before -o was checked")

    monkeypatch.setattr(optimize_cli, "optimize", no_search)
    for out in _bad_outputs(tmp_path, ".ll"):
        for argv in (
            ["optimize", TINY, "--no-model", "-o", out],
            ["opt", "/no/such/input.ll", "-p", "sroa", "-o", out],
            ["narrow", "/no/such/input.ll", "--apply", "-o", out],
        ):
            assert main(argv) == 2, argv
            errors = _errors(capsys.readouterr().err)
            assert len(errors) == 1 and "input.ll" not in errors[0], argv
            assert errors[0].startswith(f"llmc: error: {out}: "), errors


def test_coreset_output_checked_before_the_build(tmp_path, capsys):
    db = tmp_path / "missing.sqlite"
    for out in _bad_outputs(tmp_path, ".json"):
        assert main(["coreset", "build", "--db", TINY, "-o", out]) == 2
        errors = _errors(capsys.readouterr().err)
        assert len(errors) == 1 and errors[0].startswith(f"llmc: error: {out}: ")
    out = str(tmp_path / "coreset.json")
    assert main(["coreset", "build", "--db", str(db), "-o", out]) == 1
    assert _errors(capsys.readouterr().err) == [f"llmc: error: {db}: no such file"]
    assert not db.exists()


def test_missing_stdin_file(tmp_path, capsys):
    stdin = tmp_path / "input.txt"
    assert main(["optimize", TINY, "--no-model", "--stdin", str(stdin)]) == 1
    captured = capsys.readouterr()
    assert _errors(captured.err) == [f"llmc: error: {stdin}: no such file"]
    assert captured.out == ""


def _cli(*argv: str, cwd=None, timeout: float = 60) -> subprocess.CompletedProcess:
    """llmc as a process (what a hang or a traceback would look like to a user)."""
    return subprocess.run(
        [sys.executable, "-m", "llmcompiler", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "LLMC_CACHE": ""},
    )


def test_non_regular_and_empty_inputs_fail_alone(tmp_path):
    for name in ("zero.ll", "zero.bc", "zero.c"):
        os.symlink("/dev/zero", tmp_path / name)
    os.mkfifo(tmp_path / "fifo.ll")
    (tmp_path / "dir.ll").mkdir()
    for name in ("empty.c", "empty.ll", "empty.bc"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "binary.ll").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "ok.c").write_bytes(GUARDED)
    names = [
        "zero.ll",
        "ok.c",
        "zero.bc",
        "zero.c",
        "fifo.ll",
        "dir.ll",
        "/dev/zero",
        "empty.c",
        "empty.ll",
        "empty.bc",
        "binary.ll",
    ]
    proc = _cli("size", "--json", *names, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = _errors(proc.stderr)
    assert len(errors) == len(names) - 1 == len(proc.stderr.splitlines())
    expected = {
        "zero.ll": "not a regular file",
        "zero.bc": "not a regular file",
        "zero.c": "not a regular file",
        "fifo.ll": "not a regular file",
        "dir.ll": "is a directory",
        "/dev/zero": "not a regular file",
        "empty.c": "empty file",
        "empty.ll": "empty file",
        "empty.bc": "empty file",
        "binary.ll": "binary data, not LLVM IR text",
    }
    assert errors == [f"llmc: error: {n}: {m}" for n, m in expected.items()]
    rows = json.loads(proc.stdout)
    assert [r["file"] for r in rows] == names
    assert rows[1]["input"]["size"] > 0 and "error" not in rows[1]
    assert [r["error"] for r in rows if r["file"] != "ok.c"] == [
        f"{n}: {m}" for n, m in expected.items()
    ]


def test_optimize_goes_on_after_bad_inputs(tmp_path, capsys):
    (tmp_path / "empty.ll").write_bytes(b"")
    argv = ["optimize", str(tmp_path / "empty.ll"), "/no/such.c", TINY, "--json", "--no-cache"]
    assert main([*argv, "--evaluations", "2", "--no-model", "--no-coreset"]) == 1
    captured = capsys.readouterr()
    assert len(_errors(captured.err)) == 2
    assert [r["file"] for r in json.loads(captured.out)] == [TINY]


# -- 4. numbers: finite and positive, or rejected ---------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["optimize", TINY, "--budget", "nan"],
        ["optimize", TINY, "--budget", "inf"],
        ["optimize", TINY, "--budget", "-1"],
        ["optimize", TINY, "--budget", "0"],
        ["optimize", TINY, "--evaluations", "0"],
        ["optimize", TINY, "--timeout", "0"],
        ["optimize", TINY, "--timeout=-inf", "--no-model"],
        ["optimize", TINY, "--run-timeout", "0"],
        ["optimize", TINY, "--run-timeout", "-3"],
        ["size", TINY, "--jobs", "0"],
        ["size", TINY, "-j", "-1"],
        ["size", TINY, "--jobs", "two"],
        ["autotune", TINY, "--db", "x.sqlite", "--budget-per-program", "nan"],
        ["autotune", TINY, "--db", "x.sqlite", "--evaluations-per-program", "-5"],
        ["coreset", "build", "--db", "x.sqlite", "-o", "x.json", "-k", "0"],
    ],
)
def test_numbers_must_be_finite_and_positive(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument -" in err and "Traceback" not in err, err


def test_worker_limit_caps_at_cores_and_memory():
    cores = len(os.sched_getaffinity(0))
    assert limits.worker_limit() <= cores
    assert limits.worker_limit(available_mb=10_000_000) == cores
    assert limits.worker_limit(available_mb=650) == min(2, cores)
    assert limits.worker_limit(available_mb=10) == 1  # always one
    assert limits.available_memory_mb() > 0


def _max_workers_during(argv: list[str]) -> tuple[int, int]:
    """Run ``main(argv)`` while counting this process's evaluation workers; returns
    (exit code, the most workers alive at once)."""
    me, most, done = psutil.Process(), [0], threading.Event()
    others = {c.pid for c in me.children(recursive=True)}  # a shared evaluator, say

    def count():
        while not done.is_set():
            try:
                workers = [  # a worker's own children, forked to run llc-19, look alike
                    c
                    for c in me.children()
                    if c.pid not in others and "llmcompiler.engine.worker" in " ".join(c.cmdline())
                ]
            except psutil.Error:
                continue
            most[0] = max(most[0], len(workers))
            time.sleep(0.02)

    thread = threading.Thread(target=count)
    thread.start()
    try:
        code = main(argv)
    finally:
        done.set()
        thread.join()
    left = set()
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # gone meanwhile
            if child.status() != psutil.STATUS_ZOMBIE:
                left.add(child.pid)
    assert left <= others, "workers left behind"
    return code, most[0]


def test_jobs_beyond_the_machine_are_capped(tmp_path, capsys):
    files = []
    for i in range(3):  # 6 evaluations: more than the cores of a small machine
        path = tmp_path / f"p{i}.c"
        path.write_bytes(GUARDED.replace(b"return 0", b"return %d" % i))
        files.append(str(path))
    code, most = _max_workers_during(["size", *files, "--jobs", "1000", "--no-cache"])
    assert code == 0
    assert 1 <= most <= limits.worker_limit()
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if ln.startswith("llmc: note:")]
    assert len(notes) == 1 and "--jobs 1000" in notes[0], err


def test_autotune_says_when_it_creates_a_database(tmp_path, capsys):
    db = tmp_path / "new.sqlite"
    argv = ["autotune", TINY, "--db", str(db), "--evaluations-per-program", "2", "--jobs", "1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"llmc: note: creating a new database {db}" in err.splitlines()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "creating" not in err and f"llmc: resuming: 1 of 1 programs already in {db}" in err


# -- 5. --json keeps every input --------------------------------------------------------


def test_opt_json_keeps_every_input_in_order(tmp_path, capsys):
    missing = str(tmp_path / "missing.c")
    argv = ["opt", TINY, missing, LOOPS, "-p", "function(sroa)", "--json", "--no-cache"]
    assert main(argv) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in rows] == [TINY, missing, LOOPS]
    assert rows[1] == {"file": missing, "error": f"{missing}: no such file"}
    assert rows[0]["size"] > 0 and rows[2]["size"] > 0
    # an evaluation failure keeps its place too
    fatal = str(FIXTURES / "fatal_codegen.ll")
    argv = ["opt", fatal, missing, TINY, "-p", "default<Oz>", "--fast-size", "--json"]
    assert main([*argv, "--no-cache"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in rows] == [fatal, missing, TINY]
    assert "pipeline crashed LLVM" in rows[0]["error"] and "error" not in rows[2]


def test_usage_errors_escape_what_the_user_typed(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["size", "x.c", "--bogus\x1b[31m"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "--bogus\\x1b[31m" in err
