"""The results cache: SQLite, keyed by module hash, pipeline, objective and LLVM version.

Several processes may share one database file: it runs in WAL mode with a
busy timeout, and every write is its own short transaction. Timeouts are not
cached (they depend on load); every other status is deterministic and is.
"""

from __future__ import annotations

import os
import sqlite3
import time

from llmcompiler.engine.result import TIMEOUT, EvalResult, Objective
from llmcompiler.errors import LLMCError
from llmcompiler.llvm import version

SCHEMA_VERSION = 1

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
    created     REAL NOT NULL,
    PRIMARY KEY (module_hash, pipeline, objective, llvm)
) WITHOUT ROWID;
"""


def llvm_version_string() -> str:
    """Return libLLVM's version as 'major.minor.patch'."""
    return ".".join(map(str, version()))


class ResultCache:
    """Evaluation results in a SQLite file (created if missing).

    Raises:
        LLMCError: the file is not a database or has another schema version.
    """

    def __init__(self, path: str | os.PathLike, busy_timeout: float = 60.0) -> None:
        self.path = os.fspath(path)
        self.llvm = llvm_version_string()
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            found = self._db.execute(
                "SELECT value FROM meta WHERE key='schema_version'"
            ).fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise LLMCError(f"{self.path}: cannot use as a results cache: {err}") from None
        if found != str(SCHEMA_VERSION):
            raise LLMCError(
                f"{self.path}: results cache schema {found}, this llmcompiler uses "
                f"{SCHEMA_VERSION}; use a new file"
            )

    def get(self, module_hash: str, pipeline: str, objective: Objective) -> EvalResult | None:
        """Return the cached result (with ``cached=True``), or None."""
        row = self._db.execute(
            "SELECT status, instcount, size, error, seconds FROM results WHERE module_hash=? "
            "AND pipeline=? AND objective=? AND llvm=?",
            (module_hash, pipeline, objective.key, self.llvm),
        ).fetchone()
        if row is None:
            return None
        status, instcount, size, error, seconds = row
        return EvalResult(status, instcount, size, error, seconds, cached=True)

    def put(self, module_hash: str, pipeline: str, objective: Objective, result: EvalResult):
        """Store a result. Timeouts are ignored. Returns nothing."""
        if result.status == TIMEOUT:
            return
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

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
