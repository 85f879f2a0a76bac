"""The results cache: SQLite, keyed by module hash, pipeline, objective and LLVM version.

Several processes may share one database file: it runs in WAL mode with a busy
timeout, and every write is its own short transaction. Timeouts are not cached (they
depend on load); every other status is deterministic and is.

The file has a size limit (``max_mb``, else ``$LLMC_CACHE_MAX_MB``, else 512 MB): every
few writes the cache measures the pages its rows use and, over 90 % of the limit (the
rest is room for the writes until the next check), deletes the least recently used rows
down to 80 % of it and gives the freed pages back to the disk. A row's ``created`` is
when it was written or last found: hits note their key in memory, and the times are
written with the next check (or at close). The layout is unchanged since schema 1, so
processes of earlier versions can go on sharing the file.

A cache never stops a run: a file that is not a usable cache (garbage, another schema,
an unreadable path) means running without it, and a write that fails (read-only file,
full disk) means running on without storing results; either says so once with a
:class:`CacheWarning`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import warnings

from llmcompiler.engine.result import TIMEOUT, EvalResult, Objective
from llmcompiler.errors import LLMCError
from llmcompiler.llvm import options, version
from llmcompiler.sqlite_schema import create_schema

SCHEMA_VERSION = 1

DEFAULT_MAX_MB = 512.0
MAX_MB_VARIABLE = "LLMC_CACHE_MAX_MB"

_HIGH_WATER = 0.9  # eviction starts over this share of the limit ...
_LOW_WATER = 0.8  # ... and goes down to this share
_CHECK_EVERY = 256  # writes between two size checks, at most
_CHECK_SHARE = 0.05  # ... or fewer: when about this share of the limit has been written
_ROW_OVERHEAD = 200  # bytes a row takes besides its pipeline and error text (an estimate)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    module_hash TEXT NOT NULL,
    pipeline    TEXT NOT NULL,
    objective   TEXT NOT NULL,
    llvm        TEXT NOT NULL,
    status      TEXT NOT NULL,
    instcount   INTEGER,
    size        INTEGER,
    error       TEXT NOT NULL DEFAULT '',
    seconds     REAL NOT NULL,
    created     REAL NOT NULL,  -- written, or last found: eviction takes the oldest
    PRIMARY KEY (module_hash, pipeline, objective, llvm)
) WITHOUT ROWID;
"""
_KEY = "module_hash=? AND pipeline=? AND objective=? AND llvm=?"


class CacheWarning(UserWarning):
    """The results cache cannot be used (or written) and the run goes on without it."""


def llvm_version_string() -> str:
    """Return libLLVM's version as 'major.minor.patch', then the process-wide options
    pipelines run with (:mod:`llmcompiler.llvm.options`), if any: results measured
    under other options are other entries."""
    number, tag = ".".join(map(str, version())), options.tag()
    return f"{number} {tag}" if tag else number


def max_mb_from_environment() -> float:
    """``$LLMC_CACHE_MAX_MB`` (a positive number of megabytes), else 512; a bad value is
    reported with a :class:`CacheWarning` and replaced by 512."""
    text = os.environ.get(MAX_MB_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_MB
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value > 0:
        return value
    warnings.warn(
        CacheWarning(f"{MAX_MB_VARIABLE}={text}: not a positive number; using {DEFAULT_MAX_MB:g}"),
        stacklevel=2,
    )
    return DEFAULT_MAX_MB


class ResultCache:
    """Evaluation results in a SQLite file (created, with its directory, if missing).

    Args:
        path: the database file.
        busy_timeout: seconds to wait for another process's write.
        max_mb: the size limit in megabytes (default: :func:`max_mb_from_environment`).

    Never raises for a bad file: ``problem`` then says why the cache is not used
    (``usable`` is False) or no longer written (``writable`` is False), and a
    :class:`CacheWarning` has said it once.
    """

    def __init__(
        self, path: str | os.PathLike, busy_timeout: float = 60.0, max_mb: float | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.llvm = llvm_version_string()
        self.max_bytes = int((max_mb or max_mb_from_environment()) * 2**20)
        self.hits = 0  # this object's lookups, since it opened
        self.misses = 0
        self.problem: str | None = None
        self.usable = self.writable = False
        self._touched: list[tuple] = []  # keys of hits whose time is not written yet
        self._counted = (0, 0)  # hits and misses already added to the file's totals
        self._writes = 0  # writes, and bytes written (estimated), since the last check
        self._written = 0
        self._db: sqlite3.Connection | None = None
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
            self._open()
        except (OSError, sqlite3.Error) as err:
            broken = type(err) is sqlite3.DatabaseError  # not a cache (not a permission)
            self._give_up(_reason(err) + ("; remove the file to start a new one" if broken else ""))
            return
        self.usable = True
        try:
            self._prepare_for_writing()
        except sqlite3.Error as err:
            self._stop_writing(err)

    def _open(self) -> None:
        """Check (or create) the schema; reads only, when the file is already a cache."""
        db = self._db
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables <= {"meta", "results"}:
            raise sqlite3.DatabaseError("a database of something else")
        if tables != {"meta", "results"}:  # a new file (or one whose making was cut short)
            # incremental vacuum lets eviction give pages back to the disk
            vacuum = () if tables else ("PRAGMA auto_vacuum=INCREMENTAL",)
            create_schema(db, _SCHEMA, SCHEMA_VERSION, vacuum)
        found = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if found is None or found[0] != str(SCHEMA_VERSION):
            raise sqlite3.DatabaseError(
                f"results cache schema {found[0] if found else 'missing'}, this llmcompiler "
                f"uses {SCHEMA_VERSION}"
            )

    def _prepare_for_writing(self) -> None:
        """WAL mode, a WAL file kept small next to the limit, and a first size check."""
        db = self._db
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        db.execute(f"PRAGMA wal_autocheckpoint={max(16, min(1000, self.max_bytes // page // 16))}")
        db.execute(f"PRAGMA journal_size_limit={max(1 << 16, self.max_bytes // 16)}")
        self.writable = True
        self._maintain()

    # -- failures ------------------------------------------------------------

    def _give_up(self, what: str) -> None:
        """Stop using the file at all; say so once."""
        self.usable = self.writable = False
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._warn(f"{self.path}: results cache not used: {what}")

    def _stop_writing(self, err: sqlite3.Error) -> None:
        """Go on reading the file but stop writing it; say so once."""
        self.writable = False
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        self._warn(
            f"{self.path}: cannot write to the results cache ({_reason(err)}); "
            "results are not stored"
        )

    def _warn(self, message: str) -> None:
        if self.problem is None:
            self.problem = message
            warnings.warn(CacheWarning(message), stacklevel=4)

    # -- lookups and writes ----------------------------------------------------

    def get(self, module_hash: str, pipeline: str, objective: Objective) -> EvalResult | None:
        """Return the cached result (with ``cached=True``), or None."""
        if not self.usable:
            return None
        key = (module_hash, pipeline, objective.key, self.llvm)
        try:
            row = self._db.execute(
                f"SELECT status, instcount, size, error, seconds FROM results WHERE {_KEY}", key
            ).fetchone()
        except sqlite3.Error as err:
            self._give_up(f"cannot read it ({_reason(err)})")
            return None
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        if self.writable:
            self._touched.append(key)
            if len(self._touched) >= _CHECK_EVERY:
                self._check()
        status, instcount, size, error, seconds = row
        return EvalResult(status, instcount, size, error, seconds, cached=True)

    def put(self, module_hash: str, pipeline: str, objective: Objective, result: EvalResult):
        """Store a result. Timeouts are ignored. Returns nothing."""
        if result.status == TIMEOUT or not self.writable:
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    module_hash,
                    pipeline,
                    objective.key,
                    self.llvm,
                    result.status,
                    result.instcount,
                    result.size,
                    result.error,
                    result.seconds,
                    time.time(),
                ),
            )
        except sqlite3.Error as err:
            self._stop_writing(err)
            return
        self._writes += 1
        self._written += _ROW_OVERHEAD + len(pipeline) + len(result.error or "")
        if self._writes >= _CHECK_EVERY or self._written >= self.max_bytes * _CHECK_SHARE:
            self._check()

    # -- size --------------------------------------------------------------

    def _check(self) -> None:
        """:meth:`_maintain`; a failure stops writing."""
        try:
            self._maintain()
        except sqlite3.Error as err:
            self._stop_writing(err)

    def _maintain(self) -> None:
        """Write the hits' times and counts; evict down to the low-water mark when the
        rows use more pages than the limit allows."""
        self._writes = self._written = 0
        db = self._db
        hits, misses = self.hits - self._counted[0], self.misses - self._counted[1]
        if self._touched or hits or misses:
            now = time.time()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    f"UPDATE results SET created=? WHERE {_KEY}", [(now, *k) for k in self._touched]
                )
                for name, count in (("hits", hits), ("misses", misses)):
                    if count:
                        db.execute(
                            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                            "value = CAST(value AS INTEGER) + excluded.value",
                            (name, count),
                        )
            self._touched.clear()
            self._counted = (self.hits, self.misses)
        if self.used_bytes() <= self.max_bytes * _HIGH_WATER:
            return
        with db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            for _ in range(8):  # a few rounds: the estimate of bytes per row is rough
                used = self.used_bytes()
                target = self.max_bytes * _LOW_WATER
                if used <= target or rows == 0:
                    break
                count = max(1, min(rows, int((used - target) / (used / rows)) + 1))
                db.execute(
                    "DELETE FROM results WHERE (module_hash, pipeline, objective, llvm) IN "
                    "(SELECT module_hash, pipeline, objective, llvm FROM results "
                    "ORDER BY created LIMIT ?)",
                    (count,),
                )
                rows -= count
        # to the end; a file made without auto_vacuum keeps its free pages and reuses them
        db.executescript("PRAGMA incremental_vacuum;")
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def used_bytes(self) -> int:
        """Bytes of the pages that hold data (the file without its free pages)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * self._db.execute("PRAGMA page_size").fetchone()[0]

    # -- for ``llmc cache`` ----------------------------------------------------

    def totals(self) -> dict[str, int]:
        """Rows, and the hits and misses of every process that used the file (as of
        their last size check or close), this object's included."""
        if not self.usable:
            return {"rows": 0, "hits": 0, "misses": 0}
        if self.writable:
            with contextlib.suppress(sqlite3.Error):
                self._maintain()
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('hits','misses')"))
        unsaved = (self.hits - self._counted[0], self.misses - self._counted[1])
        return {
            "rows": len(self),
            "hits": int(meta.get("hits", 0)) + unsaved[0],
            "misses": int(meta.get("misses", 0)) + unsaved[1],
        }

    def clear(self) -> int:
        """Delete every result and the counts, give the space back; returns the rows
        deleted.

        Raises:
            LLMCError: the file cannot be written.
        """
        try:
            count = len(self)
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("DELETE FROM results")
                self._db.execute("DELETE FROM meta WHERE key IN ('hits', 'misses')")
            self._db.execute("VACUUM")
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot clear the results cache: {err}") from None
        self._touched.clear()
        self.hits = self.misses = 0
        self._counted = (0, 0)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    def __len__(self) -> int:
        if not self.usable:
            return 0
        return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        """Write what is left (hits' times and counts) and close the file. Safe to call
        twice."""
        if self._db is None:
            return
        if self.writable:
            self._check()
        self._db.close()
        self._db = None
        self.usable = self.writable = False

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def disk_bytes(path: str | os.PathLike) -> int:
    """Bytes a cache file takes on disk, its WAL and shared-memory files included."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(os.fspath(path) + suffix)
    return total


def _reason(err: Exception) -> str:
    """The words of an SQLite or OS error, without Python's decoration."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return str(err)
