"""The results cache under pressure: its size limit, ``llmc cache``, and files that cannot
be used or written (garbage, immutable, in a read-only directory, on a full disk), each
of which must leave a run going with one ``llmc: warning:`` line.

Tests run as root, which ignores file modes, so read-only means ``chattr +i`` (the
kernel refuses every write to an immutable file or directory, root's too) and a full
disk is a small tmpfs mounted for the test; both are skipped where they are not allowed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import subprocess
import warnings

import pytest

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.engine import EvalResult, Objective, ResultCache
from llmcompiler.engine.cache import (
    SCHEMA_VERSION,
    CacheWarning,
    disk_bytes,
    llvm_version_string,
)
from llmcompiler.engine.result import OK
from llmcompiler.pipeline import load_vocabulary

LOOPS = str(FIXTURES / "loops.c")


def _pipelines(count: int, seed: int = 0) -> list[str]:
    """Pipelines of real passes, about 6 KB each, like the long lists search keeps."""
    names = [p.name for p in load_vocabulary().passes if p.level == "function"]
    rng = random.Random(seed)
    return [f"function({','.join(rng.choices(names, k=400))})"[:6000] for _ in range(count)]


def _fill(cache: ResultCache, pipelines: list[str], first: int = 0) -> None:
    """Store a result for each pipeline: the one at ``i`` has size ``1000 + first + i``."""
    for i, pipeline in enumerate(pipelines, first):
        cache.put("m", pipeline, Objective(), EvalResult(OK, 100 + i, 1000 + i, seconds=0.01))


@contextlib.contextmanager
def _one_warning():
    """Collect CacheWarnings; the block must raise exactly one."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    messages = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(messages) == 1, messages


def _warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("llmc: warning:")]


def _optimize(cache, capsys) -> tuple[int, str, str]:
    code = main(["optimize", LOOPS, "--evaluations", "6", "--no-model", "--cache", str(cache)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the size limit --------------------------------------------------------------------


def test_eviction_keeps_the_file_under_the_limit(tmp_path):
    path = tmp_path / "c.sqlite"
    pipelines = _pipelines(1200)  # about 7 MB of rows for a 1 MB cache
    cache = ResultCache(path, max_mb=1)
    _fill(cache, pipelines[:40])
    keep = pipelines[0]  # old, but used: eviction takes the least recently used
    for start in range(40, len(pipelines), 40):
        assert cache.get("m", keep, Objective()) is not None
        _fill(cache, pipelines[start : start + 40], start)
        assert os.path.getsize(path) <= 2**20
        assert disk_bytes(path) <= 1.25 * 2**20, "with its WAL file"
    rows = len(cache)
    assert 60 < rows < 130  # 0.8 to 0.9 MB of rows that take two 4 KB pages each
    assert cache.get("m", keep, Objective()) is not None
    assert cache.get("m", pipelines[1], Objective()) is None  # old and unused: gone
    assert cache.get("m", pipelines[-1], Objective()).size == 1000 + len(pipelines) - 1
    cache.close()
    assert os.path.getsize(path) <= 2**20


def test_limit_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    with ResultCache(path) as cache:
        _fill(cache, _pipelines(300))
    assert os.path.getsize(path) > 1.5 * 2**20
    monkeypatch.setenv("LLMC_CACHE_MAX_MB", "1")
    with ResultCache(path) as cache:  # opening checks the size at once
        assert cache.max_bytes == 2**20 and cache.used_bytes() <= 2**20
    assert os.path.getsize(path) <= 2**20
    monkeypatch.setenv("LLMC_CACHE_MAX_MB", "lots")
    with _one_warning():
        assert ResultCache(path).max_bytes == 512 * 2**20


def test_earlier_versions_share_the_file(tmp_path):
    """The layout is the one earlier llmcompiler versions write, positional insert and all."""
    path = tmp_path / "c.sqlite"
    with ResultCache(path, max_mb=1) as cache:
        _fill(cache, _pipelines(2))
    db = sqlite3.connect(path)
    db.execute(  # how llmcompiler 0.x stores a result
        "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?)",
        ("h", "p", Objective().key, llvm_version_string(), "ok", 5, 50, "", 0.1, 0.0),
    )
    db.commit()
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    db.close()
    with ResultCache(path, max_mb=1) as cache:
        assert cache.usable and len(cache) == 3 and cache.get("h", "p", Objective()).size == 50


# -- llmc cache info / clear -----------------------------------------------------------


def test_cache_info_and_clear(tmp_path, capsys, monkeypatch):
    path = tmp_path / "c.sqlite"
    assert main(["cache", "info", "--cache", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no file yet" in out and not path.exists()  # info creates nothing
    pipelines = _pipelines(30)
    with ResultCache(path) as cache:
        _fill(cache, pipelines)
        for p in pipelines[:5]:
            cache.get("m", p, Objective())
        cache.get("m", "not there", Objective())
    monkeypatch.setenv("LLMC_CACHE_MAX_MB", "3")
    assert main(["cache", "info", "--cache", str(path)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["path"] == str(path) and lines["state"] == "ok" and lines["rows"] == "30"
    assert lines["limit"] == "3 MB" and lines["misses"] == "1"
    assert lines["hits"] == "5 (83% of 6 lookups)"
    assert lines["on"].startswith("disk ") and lines["on"].endswith(" MB")
    assert main(["cache", "info", "--cache", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 30 and info["bytes"] == disk_bytes(path) > 30 * 6000
    assert main(["cache", "clear", "--cache", str(path)]) == 0
    assert capsys.readouterr().err.startswith(f"llmc: removed 30 results from {path} (")
    assert main(["cache", "info", "--cache", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["rows"], info["hits"], info["misses"]) == (0, 0, 0)
    assert info["bytes"] < 100_000


def test_cache_clear_leaves_other_files_alone(tmp_path, capsys):
    other = tmp_path / "notes.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()
    assert main(["cache", "clear", "--cache", str(other)]) == 1
    err = capsys.readouterr().err
    assert _warning_lines(err) == [
        f"llmc: warning: {other}: results cache not used: a database of something else; "
        "remove the file to start a new one"
    ]
    assert f"llmc: error: {other}: not cleared: not a usable results cache" in err
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [
        ("notes",)
    ]


# -- files that cannot be used or written -------------------------------------------------


def test_garbage_file_runs_without_the_cache(tmp_path, capsys):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"\x00garbage" * 500)
    code, out, err = _optimize(bad, capsys)
    assert code == 0 and "passes:" in out
    assert _warning_lines(err) == [
        f"llmc: warning: {bad}: results cache not used: file is not a database; remove the "
        "file to start a new one"
    ]


@contextlib.contextmanager
def _immutable(*paths):
    """``chattr +i`` (undone on the way out); skips the test where it is not allowed."""
    done = []
    try:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
                pytest.skip("chattr +i is not allowed here")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_immutable_file_is_read_not_written(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    pipelines = _pipelines(3)
    with ResultCache(path) as cache:
        _fill(cache, pipelines[:2])
    with _immutable(path):
        with _one_warning() as caught:
            cache = ResultCache(path)
            assert cache.get("m", pipelines[0], Objective()).size == 1000  # still read
            _fill(cache, pipelines[2:] * 3)  # three refused writes, one warning
            cache.close()
        assert "cannot write to the results cache (attempt to write a readonly database)" in str(
            caught[0].message
        )
        code, out, err = _optimize(path, capsys)
        assert code == 0 and "passes:" in out
        assert len(_warning_lines(err)) == 1, err
        assert "attempt to write a readonly database" in err


def test_read_only_directory_runs_without_the_cache(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    with _immutable(folder):
        code, out, err = _optimize(folder / "results.sqlite", capsys)
    assert code == 0 and "passes:" in out
    assert _warning_lines(err) == [
        f"llmc: warning: {folder / 'results.sqlite'}: results cache not used: unable to open "
        "database file"
    ]


@pytest.fixture
def small_disk(tmp_path):
    """A 160 KB tmpfs (mounting needs CAP_SYS_ADMIN; skipped without it)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_full_disk_stops_writes_not_the_run(small_disk, capsys):
    path = small_disk / "c.sqlite"
    pipelines = _pipelines(60)
    with _one_warning() as caught:
        cache = ResultCache(path)
        _fill(cache, pipelines)  # 360 KB of rows on a 160 KB disk
        cache.close()
    assert "database or disk is full" in str(caught[0].message)
    # what fitted is there; at close, the time of the hit cannot be written
    with pytest.warns(CacheWarning, match="disk is full"), ResultCache(path) as cache:
        assert cache.get("m", pipelines[0], Objective()).size == 1000
    for cache_path in (path, small_disk / "new.sqlite"):  # written, and made, on a full disk
        code, out, err = _optimize(cache_path, capsys)
        assert code == 0 and "passes:" in out
        assert len(_warning_lines(err)) == 1, err
        assert "database or disk is full" in err
