"""The autotuning database (SQLite): one row per program tuned, its best pass lists,
and the settings of the run. Written by ``llmc autotune``, read by ``llmc coreset build``."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time

from llmcompiler.errors import LLMCError
from llmcompiler.sqlite_schema import create_schema

SCHEMA_VERSION = 1
_TABLES = {"meta", "programs", "lists"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programs (
    hash TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    oz_size INTEGER, oz_instcount INTEGER, best_pipeline TEXT, best_size INTEGER,
    best_instcount INTEGER, improvement_pct REAL, evaluations INTEGER, seconds REAL,
    validated INTEGER, finished REAL NOT NULL, triple TEXT
);
CREATE TABLE IF NOT EXISTS lists (
    hash TEXT NOT NULL, pipeline TEXT NOT NULL, size INTEGER, instcount INTEGER,
    improvement_pct REAL NOT NULL, PRIMARY KEY (hash, pipeline)
);
"""


class TuneDB:
    """Autotuning results; safe to read while another process writes. Every write is one
    transaction: a program's row and its lists are stored together or not at all.

    Opening reads only (a read-only file can be read); a write that fails raises.

    Raises:
        LLMCError: the file cannot be opened, is not an autotuning database of this
            schema, or (for a new file) cannot be written.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            tables = {n for (n,) in self.db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: not an autotuning database: {err}") from None
        if not tables >= _TABLES:
            # another process may be creating the same file at this moment
            self._write(create_schema, self.db, _SCHEMA, SCHEMA_VERSION)
        found = self.meta("schema_version")
        if found != str(SCHEMA_VERSION):
            raise LLMCError(f"{self.path}: autotuning schema {found}, expected {SCHEMA_VERSION}")
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(programs)")}
        if "triple" not in columns:  # written before programs recorded their target
            # a read-only one is read as it is (triple unknown)
            with contextlib.suppress(sqlite3.OperationalError):
                self.db.execute("ALTER TABLE programs ADD COLUMN triple TEXT")

    def _write(self, change, *args) -> None:
        """Run ``change(*args)``, turning SQLite's refusal into a clear error.

        Raises:
            LLMCError: the file is read-only, the disk is full, or it is not a database.
        """
        try:
            change(*args)
        except sqlite3.DatabaseError as err:
            if type(err) is sqlite3.DatabaseError:  # e.g. "file is not a database"
                raise LLMCError(f"{self.path}: not an autotuning database: {err}") from None
            raise LLMCError(
                f"{self.path}: cannot write to the autotuning database: {err} (what it holds "
                "is unchanged)"
            ) from None

    def meta(self, key: str) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: not an autotuning database: {err}") from None
        return row[0] if row else None

    def set_meta(self, key: str, value) -> None:
        """Store a setting of the run (a string, or JSON).

        Raises:
            LLMCError: the file cannot be written.
        """
        text = value if isinstance(value, str) else json.dumps(value)
        self._write(self.db.execute, "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))

    def done(self) -> set[str]:
        """Hashes of programs already tuned (successfully or not)."""
        return {h for (h,) in self.db.execute("SELECT hash FROM programs")}

    def record(self, row: dict) -> None:
        """Store one program's outcome and its best lists in one transaction.

        Raises:
            LLMCError: the file cannot be written (nothing of the row is stored).
        """
        self._write(self._record, row)

    def _record(self, row: dict) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR REPLACE INTO programs (hash, name, status, error, oz_size, "
                "oz_instcount, best_pipeline, best_size, best_instcount, improvement_pct, "
                "evaluations, seconds, validated, finished, triple) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row["hash"],
                    row["name"],
                    row["status"],
                    row.get("error"),
                    row.get("oz_size"),
                    row.get("oz_instcount"),
                    row.get("pipeline"),
                    row.get("size"),
                    row.get("instcount"),
                    row.get("improvement_pct"),
                    row.get("evaluations"),
                    row.get("seconds"),
                    _tristate(row.get("validated")),
                    time.time(),
                    row.get("triple"),
                ),
            )
            for entry in row.get("lists", []):
                self.db.execute(
                    "INSERT OR REPLACE INTO lists VALUES (?,?,?,?,?)",
                    (
                        row["hash"],
                        entry["pipeline"],
                        entry["size"],
                        entry["instcount"],
                        entry["improvement_pct"],
                    ),
                )

    def programs(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM programs ORDER BY name")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]

    def lists(self) -> list[tuple[str, str, float]]:
        """(program hash, pipeline, improvement %) of every stored list."""
        return list(self.db.execute("SELECT hash, pipeline, improvement_pct FROM lists"))

    def close(self) -> None:
        self.db.close()


def _tristate(value: bool | None) -> int | None:
    return None if value is None else int(value)
