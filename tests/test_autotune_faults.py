"""``llmc autotune`` when things go wrong around it: a cache it cannot use (said once,
however many tuning processes meet it), an autotuning database it cannot write or read,
and a tuning process killed from outside. Each ends in one clear line, never a
traceback, and the database keeps what it had."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import psutil

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.engine import ResultCache
from llmcompiler.search.tunedb import TuneDB
from test_cache_faults import _fill, _immutable, _pipelines, _warning_lines

PROGRAMS = [str(FIXTURES / n) for n in ("loops.c", "switch.c", "recursion.c", "globals.c")]
QUICK = ["--evaluations-per-program", "6", "--budget-per-program", "60"]


def _autotune(db, capsys, *extra: str, programs=PROGRAMS[:2]) -> tuple[int, str, str]:
    code = main(["autotune", *programs, *QUICK, "--db", str(db), "--jobs", "2", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unusable_cache_is_said_once(tmp_path, capsys):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    code, out, err = _autotune(tmp_path / "a.sqlite", capsys, "--cache", str(garbage))
    assert code == 0 and len(out.splitlines()) == 2
    assert _warning_lines(err) == [
        f"llmc: warning: {garbage}: results cache not used: file is not a database; remove "
        "the file to start a new one"
    ]
    frozen = tmp_path / "frozen.sqlite"
    with ResultCache(frozen) as cache:
        _fill(cache, _pipelines(2))
    with _immutable(frozen):  # each tuning process fails to write it
        code, out, err = _autotune(tmp_path / "b.sqlite", capsys, "--cache", str(frozen))
    assert code == 0 and len(out.splitlines()) == 2
    assert _warning_lines(err) == [
        f"llmc: warning: {frozen}: cannot write to the results cache (attempt to write a "
        "readonly database); results are not stored"
    ]


def test_read_only_database_is_a_clear_error(tmp_path, capsys):
    db = tmp_path / "tune.sqlite"
    code, out, _ = _autotune(db, capsys, programs=PROGRAMS[:1])
    assert code == 0
    before = TuneDB(db).programs()
    TuneDB(db).close()
    with _immutable(db):
        code, out, err = _autotune(db, capsys)
        assert code == 1 and out == "" and "Traceback" not in err
        assert err.strip().splitlines()[-1] == (
            f"llmc: error: {db}: cannot write to the autotuning database: attempt to write a "
            "readonly database (what it holds is unchanged)"
        )
        assert TuneDB(db).programs() == before  # still readable
        coreset = tmp_path / "coreset.json"
        assert main(["coreset", "build", "--db", str(db), "-o", str(coreset)]) == 0
        assert "written to" in capsys.readouterr().err
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    code, _, err = _autotune(garbage, capsys)
    assert code == 1
    assert err.strip() == (
        f"llmc: error: {garbage}: not an autotuning database: file is not a database"
    )


def _is_tuner(child: psutil.Process) -> bool:
    """A live tuning process (a child may exit or be a zombie while we look)."""
    try:
        return "spawn_main" in " ".join(child.cmdline())
    except psutil.Error:
        return False


def test_killed_tuning_process_is_a_clear_error_then_resumes(tmp_path):
    db = tmp_path / "tune.sqlite"
    argv = [sys.executable, "-m", "llmcompiler", "autotune", *PROGRAMS, "--db", str(db)]
    argv += ["--budget-per-program", "60", "--jobs", "2"]
    err_path = tmp_path / "stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(children) < 2:
        time.sleep(0.1)
        children = [c for c in psutil.Process(proc.pid).children() if _is_tuner(c)]
    time.sleep(1.0)
    everything = psutil.Process(proc.pid).children(recursive=True)
    children[0].send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    stderr = err_path.read_text()
    assert proc.returncode == 1 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        "llmc: error: a tuning process died (killed, or out of memory); rerun to resume"
    )
    time.sleep(1.0)
    assert not [p for p in everything if p.is_running() and p.status() != "zombie"]
    stored = TuneDB(db).done()
    assert len(stored) == len(out.splitlines())  # what was printed was stored
    db_copy = tmp_path / "copy.sqlite"
    shutil.copy(db, db_copy)
    assert sqlite3.connect(db_copy).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = subprocess.run(
        [*argv[:-4], *QUICK, "--jobs", "2"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert len(TuneDB(db).done()) == len(PROGRAMS)
