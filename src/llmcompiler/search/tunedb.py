"""The autotuning database (SQLite): one row per program tuned, its best pass lists,
and the settings of the run. Written by ``llmc autotune``, read by ``llmc coreset build``."""

from __future__ import annotations

import json
import os
import sqlite3
import time

from llmcompiler.errors import LLMCError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programs (
    hash TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    oz_size INTEGER, oz_instcount INTEGER, best_pipeline TEXT, best_size INTEGER,
    best_instcount INTEGER, improvement_pct REAL, evaluations INTEGER, seconds REAL,
    validated INTEGER, finished REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lists (
    hash TEXT NOT NULL, pipeline TEXT NOT NULL, size INTEGER, instcount INTEGER,
    improvement_pct REAL NOT NULL, PRIMARY KEY (hash, pipeline)
);
"""


class TuneDB:
    """Autotuning results; safe to read while another process writes.

    Raises:
        LLMCError: the file is not an autotuning database of this schema.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            found = self.meta("schema_version")
        except sqlite3.DatabaseError as err:
            raise LLMCError(f"{self.path}: not an autotuning database: {err}") from None
        if found != str(SCHEMA_VERSION):
            raise LLMCError(f"{self.path}: autotuning schema {found}, expected {SCHEMA_VERSION}")

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))

    def done(self) -> set[str]:
        """Hashes of programs already tuned (successfully or not)."""
        return {h for (h,) in self.db.execute("SELECT hash FROM programs")}

    def record(self, row: dict) -> None:
        """Store one program's outcome and its best lists in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT OR REPLACE INTO programs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
