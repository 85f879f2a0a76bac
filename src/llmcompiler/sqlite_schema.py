"""Creating the schema of an SQLite file that several processes may open at once."""

from __future__ import annotations

import sqlite3
import time

#: seconds a new file waits for another process creating the same file
CREATE_WAIT = 60.0


def create_schema(
    db: sqlite3.Connection,
    schema: str,
    version: int,
    pragmas: tuple[str, ...] = (),
    wait: float = CREATE_WAIT,
) -> None:
    """Write ``schema`` (``CREATE ... IF NOT EXISTS`` statements with a ``meta`` table of
    key and value) and ``meta``'s ``schema_version`` into a file in WAL mode, after
    ``pragmas`` (those that must come before the first table, such as auto_vacuum).

    Another process may be creating the same file at the same moment: the tables and
    the version are written in one transaction, so no process sees tables without a
    version, and SQLite's immediate "database is locked" (switching the journal to WAL
    does not wait for the lock) is tried again for up to ``wait`` seconds. Creating is
    idempotent: what the other process made stays as it is. ``db`` must be opened with
    ``isolation_level=None``.

    Raises:
        sqlite3.Error: the file cannot be written (read-only, disk full, not a
            database), or is still locked after the wait.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            for pragma in pragmas:
                db.execute(pragma)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(
                f"BEGIN IMMEDIATE; {schema} INSERT OR IGNORE INTO meta VALUES "
                f"('schema_version', '{version}'); COMMIT;"
            )
            return
        except sqlite3.Error as err:
            if db.in_transaction:
                db.rollback()
            locked = isinstance(err, sqlite3.OperationalError) and "locked" in str(err)
            if not locked or time.monotonic() >= deadline:
                raise
        time.sleep(0.05)
