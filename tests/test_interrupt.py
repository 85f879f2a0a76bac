"""Ctrl-C and SIGTERM to a real ``llmc optimize`` / ``llmc autotune`` in the middle of a
search: a prompt exit with one error line and the right code, no process left behind,
a consistent autotuning database, and a run that resumes where the last one stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest

from conftest import FIXTURES
from llmcompiler.search.tunedb import TuneDB

PROGRAMS = [str(FIXTURES / n) for n in ("loops.c", "switch.c", "recursion.c", "globals.c")]
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 128 + signal.SIGTERM}
RETURN_WITHIN = 2.5  # seconds from the signal to the exit of llmc (the brief: ~2 s)


def _llmc(*argv: str) -> list[str]:
    return [sys.executable, "-m", "llmcompiler", *argv]


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:  # gone, or a zombie
        return ""


def _alive(procs: list[psutil.Process]) -> list[str]:
    left = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{p.pid} {_cmdline(p)[:120]}")
        except psutil.NoSuchProcess:
            pass
    return left


def interrupt_mid_search(
    argv: list[str], sig: int, tmp_path, settle: float = 1.5, group: bool = False
) -> tuple:
    """Start ``argv``; once its evaluation workers run, wait ``settle`` seconds, record every
    descendant, send ``sig`` (to its process group with ``group``, as a terminal's Ctrl-C
    does). Returns (exit code, seconds to exit, stdout, stderr, processes still alive 1 s
    after the exit).

    Output goes to files, not pipes: a process left behind holding a pipe would hang us.
    """
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL, start_new_session=group
        )
    seen: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            kids = _descendants(proc.pid)
            if any("llmcompiler.engine.worker" in _cmdline(k) for k in kids):
                break
            time.sleep(0.05)
        time.sleep(settle)
        assert proc.poll() is None, "finished before the signal: raise the budget"
        seen = _descendants(proc.pid)
        assert seen, "no worker processes to watch"
        start = time.monotonic()
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        code = proc.wait(timeout=30)
        took = time.monotonic() - start
        time.sleep(1.0)
        left = _alive(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in seen:  # whatever the assertions say, leave nothing running
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
    return code, took, out.read_text(), err.read_text(), left


def _check_interrupted(sig, code, took, stderr, left) -> None:
    assert code == EXIT_CODES[sig], stderr
    assert took < RETURN_WITHIN, f"took {took:.2f} s to exit"
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.startswith("llmc: error")]
    assert lines == ["llmc: error: interrupted"], stderr
    assert not left, f"left behind: {left}"


SIGNALS = pytest.mark.parametrize(
    "sig, group",
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["SIGINT", "Ctrl-C", "SIGTERM"],
)


@SIGNALS
def test_optimize_interrupted(sig, group, tmp_path):
    argv = _llmc("optimize", *PROGRAMS, "--budget", "60", "--jobs", "2", "--validate")
    code, took, _, stderr, left = interrupt_mid_search(argv, sig, tmp_path, group=group)
    _check_interrupted(sig, code, took, stderr, left)


def _consistent(db_path) -> set[str]:
    """Check the database: intact, and no list without its program row. Returns the hashes
    of the programs it holds."""
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = db.execute("SELECT COUNT(*) FROM lists WHERE hash NOT IN (SELECT hash FROM programs)")
    assert orphans.fetchone()[0] == 0
    unlisted = db.execute(
        "SELECT COUNT(*) FROM programs WHERE status='ok' AND hash NOT IN (SELECT hash FROM lists)"
    )
    assert unlisted.fetchone()[0] == 0
    db.close()
    return TuneDB(db_path).done()


@SIGNALS
def test_autotune_interrupted_then_resumed(sig, group, tmp_path):
    db = str(tmp_path / "tune.sqlite")
    quick = ["--evaluations-per-program", "15", "--budget-per-program", "60", "--db", db]
    first = subprocess.run(
        _llmc("autotune", PROGRAMS[0], *quick, "--jobs", "1"), capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    argv = _llmc("autotune", *PROGRAMS, "--budget-per-program", "60", "--db", db, "--jobs", "2")
    code, took, stdout, stderr, left = interrupt_mid_search(argv, sig, tmp_path, group=group)
    assert "llmc: resuming: 1 of 4 programs already in" in stderr
    _check_interrupted(sig, code, took, stderr, left)
    done = _consistent(db)
    assert len(done) == 1 + len(stdout.splitlines())  # every row printed is stored
    again = subprocess.run(
        _llmc("autotune", *PROGRAMS, *quick, "--jobs", "2"), capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert f"llmc: resuming: {len(done)} of 4 programs already in" in again.stderr
    assert len(_consistent(db)) == 4
