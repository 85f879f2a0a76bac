"""The build's tuning database: one SQLite file that every ``llmc cc`` of a build shares.

``tuned`` holds the pass list found for each module, keyed by (module hash, target
triple, codegen key, objective): a later compile of the same module with the same code
generation options applies it without searching. ``compiles`` logs every compile (its
command line and working directory, so ``llmc autotune`` can later re-tune a build's
modules, and the outcome: hit, miss, large (too large to search at build time: clang
-Oz's object, stored as -Oz), fallback or error).

Many compilers write at once under ``make -j``: the file is in WAL mode (readers never
wait for the writer), each write is one short ``BEGIN IMMEDIATE`` transaction, and a
writer waits up to :data:`BUSY_TIMEOUT` seconds for another instead of failing with
"database is locked".

The file is ``$LLMC_CC_DB``, else ``tuning.sqlite`` in the user's cache folder
(:func:`database_path`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from llmcompiler.errors import LLMCError

SCHEMA_VERSION = 1
#: what the meta table's "kind" says, telling this file from llmcompiler's other databases
KIND = "llmc cc tuning database"
#: seconds a write waits for another process's transaction before giving up
BUSY_TIMEOUT = 60.0
#: the environment variable naming the database file
DB_VARIABLE = "LLMC_CC_DB"

#: the objects kept for hits (a table added in a later release: old files get it on open)
_OBJECTS = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY, hash TEXT NOT NULL, triple TEXT NOT NULL, codegen TEXT NOT NULL,
    objective TEXT NOT NULL, pipeline TEXT NOT NULL, size INTEGER, bytes INTEGER NOT NULL,
    data BLOB NOT NULL, used REAL NOT NULL
)"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tuned (
    hash TEXT NOT NULL, triple TEXT NOT NULL, codegen TEXT NOT NULL, objective TEXT NOT NULL,
    pipeline TEXT NOT NULL, size INTEGER, oz_size INTEGER, instcount INTEGER,
    oz_instcount INTEGER, source TEXT NOT NULL, budget REAL, time REAL NOT NULL,
    PRIMARY KEY (hash, triple, codegen, objective)
);
CREATE TABLE IF NOT EXISTS compiles (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, cwd TEXT NOT NULL, compiler TEXT NOT NULL,
    argv TEXT NOT NULL, source TEXT NOT NULL, output TEXT NOT NULL, hash TEXT, triple TEXT,
    codegen TEXT, objective TEXT, outcome TEXT NOT NULL, seconds REAL, oz_size INTEGER,
    size INTEGER, message TEXT
);
"""
#: the outcomes a compile logs
OUTCOMES = ("hit", "miss", "large", "fallback", "error")


@dataclass(frozen=True)
class Key:
    """What a stored pass list is for: a module (its content hash), its target, the
    user's code generation options (:func:`llmcompiler.driver.argv.codegen_key`) and
    the objective ("size" or "instcount")."""

    hash: str
    triple: str
    codegen: str
    objective: str


@dataclass(frozen=True)
class Entry:
    """A stored pass list and what it achieved.

    Attributes:
        pipeline: opt -passes= text (``default<Oz>`` when nothing beat -Oz).
        size: binary size of the object it gave (bytes; None when not measured).
        oz_size: binary size of the ``clang -Oz`` object with the same options.
        instcount: IR instructions after the pipeline (None when not measured).
        oz_instcount: IR instructions after -Oz.
        source: who found it: "search" (a compile's miss), "related" (a list stored
            for a related module, :meth:`TuningDB.related`) or "autotune".
        budget: the search budget in seconds (None: not limited by time).
        time: when it was stored (seconds since the epoch).
    """

    pipeline: str
    size: int | None = None
    oz_size: int | None = None
    instcount: int | None = None
    oz_instcount: int | None = None
    source: str = "search"
    budget: float | None = None
    time: float = 0.0

    def better_than(self, other: Entry, objective: str) -> bool:
        """True when this entry is strictly better on ``objective`` (then the other
        measure breaks ties); an unmeasured value counts as worst."""
        return _rank(self, objective) < _rank(other, objective)


def _rank(entry: Entry, objective: str) -> tuple[float, float]:
    size = float("inf") if entry.size is None else entry.size
    count = float("inf") if entry.instcount is None else entry.instcount
    return (count, size) if objective == "instcount" else (size, count)


def database_path(environ: Mapping[str, str] | None = None) -> Path:
    """The tuning database of this build: ``$LLMC_CC_DB``, else ``tuning.sqlite`` in the
    user's cache folder (``~/.cache/llmcompiler`` on Linux)."""
    env = os.environ if environ is None else environ
    if env.get(DB_VARIABLE):
        return Path(env[DB_VARIABLE])
    import platformdirs

    return Path(platformdirs.user_cache_dir("llmcompiler")) / "tuning.sqlite"


@functools.cache
def _vocabulary_digest() -> str:
    """A digest of the pass vocabulary file this llmcompiler searches with."""
    import llmcompiler.data

    data = Path(llmcompiler.data.__file__).with_name("passes_llvm19.toml").read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


class TuningDB:
    """The tuning database at ``path`` (created, with its folder, when missing).

    Use as a context manager, or call :meth:`close`.

    Raises:
        LLMCError: the file cannot be opened or created (a directory, no permission), is
            not an SQLite database, is another kind of database, or has another schema
            version.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise LLMCError(f"{self.path}: cannot open the tuning database: {err}") from None
        try:
            self._open_waiting()
        except sqlite3.DatabaseError as err:
            self.db.close()
            raise LLMCError(f"{self.path}: not an llmc cc tuning database: {err}") from None
        except LLMCError:
            self.db.close()
            raise

    def _open_waiting(self) -> None:
        """:meth:`_open`, tried again while another process holds a lock it cannot wait
        for (switching a new file to WAL does not wait: SQLite answers "locked" at once)."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as err:
                busy = "locked" in str(err) or "busy" in str(err)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _open(self) -> None:
        self.db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        # with WAL, NORMAL loses no committed data on a crash of the process (only, at
        # worst, the last commits on a power cut) and spares a sync per compile
        self.db.execute("PRAGMA synchronous=NORMAL")
        tables = {n for (n,) in self.db.execute("SELECT name FROM sqlite_master")}
        if not tables:
            self.db.execute("PRAGMA journal_mode=WAL")  # kept in the file from now on
            with self._transaction():  # another compiler may be creating it too
                for statement in [*_SCHEMA.split(";"), _OBJECTS]:
                    if statement.strip():
                        self.db.execute(statement)
                for key, value in (
                    ("kind", KIND),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("vocabulary", _vocabulary_digest()),
                ):
                    self.db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
        elif "meta" not in tables:
            raise LLMCError(f"{self.path}: not an llmc cc tuning database")
        elif "objects" not in tables:  # made before objects were kept
            with self._transaction():
                self.db.execute(_OBJECTS)
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if meta.get("kind") != KIND:
            raise LLMCError(f"{self.path}: not an llmc cc tuning database")
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise LLMCError(
                f"{self.path}: tuning database schema {meta.get('schema_version')}, "
                f"expected {SCHEMA_VERSION} (delete the file to start again)"
            )
        vocabulary = _vocabulary_digest()
        if meta.get("vocabulary") != vocabulary:
            self._forget_rejected(vocabulary)

    def _forget_rejected(self, vocabulary: str) -> None:
        """After the pass vocabulary changed (a pass found to miscompile is excluded),
        delete the stored lists it now rejects, and the objects made with them, so that
        no build applies them again; then record the vocabulary's digest."""
        from llmcompiler.model.base import candidate_from_pipeline

        with self._transaction():
            rows = self.db.execute("SELECT DISTINCT pipeline FROM tuned").fetchall()
            for (pipeline,) in rows:
                if candidate_from_pipeline(pipeline).pipeline is None:
                    self.db.execute("DELETE FROM tuned WHERE pipeline=?", (pipeline,))
                    self.db.execute("DELETE FROM objects WHERE pipeline=?", (pipeline,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('vocabulary', ?)", (vocabulary,))

    def _transaction(self):
        """A write transaction that takes the write lock at once (BEGIN IMMEDIATE), so
        it waits for other writers up front and never fails half-way."""
        return _Immediate(self.db)

    def lookup(self, key: Key) -> Entry | None:
        """The stored entry for ``key``, or None.

        Raises:
            LLMCError: the database cannot be read.
        """
        try:
            row = self.db.execute(
                "SELECT pipeline, size, oz_size, instcount, oz_instcount, source, budget, time "
                "FROM tuned WHERE hash=? AND triple=? AND codegen=? AND objective=?",
                (key.hash, key.triple, key.codegen, key.objective),
            ).fetchone()
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot read the tuning database: {err}") from None
        return Entry(*row) if row else None

    def related(self, key: Key, source: str, limit: int = 2) -> list[str]:
        """Pass lists (not -Oz) stored for modules related to ``key``'s: the same module
        compiled with other code generation options, then modules compiled from the same
        ``source`` (an absolute path) for the same target and objective, e.g. a
        library's PIC and non-PIC objects of one file. Best first, at most ``limit``.

        Raises:
            LLMCError: the database cannot be read.
        """
        from llmcompiler.pipeline import OZ

        base = os.path.basename(source)
        like = "%" + "".join("\\" + c if c in "%_\\" else c for c in base)
        try:
            same = self.db.execute(
                "SELECT pipeline, size, oz_size FROM tuned WHERE hash=? AND triple=? "
                "AND objective=? AND codegen<>?",
                (key.hash, key.triple, key.objective, key.codegen),
            ).fetchall()
            logged = self.db.execute(
                "SELECT DISTINCT c.cwd, c.source, t.pipeline, t.size, t.oz_size "
                "FROM compiles c JOIN tuned t ON t.hash=c.hash AND t.triple=c.triple AND "
                "t.codegen=c.codegen AND t.objective=c.objective "
                "WHERE c.triple=? AND c.objective=? AND c.source LIKE ? ESCAPE '\\' AND c.hash<>?",
                (key.triple, key.objective, like, key.hash),
            ).fetchall()
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot read the tuning database: {err}") from None
        wanted = os.path.normpath(source)
        rows = list(same)
        rows += [r[2:] for r in logged if os.path.normpath(os.path.join(r[0], r[1])) == wanted]
        gain = [(r[0], (r[2] or 0) - (r[1] or 0)) for r in rows if r[0] != OZ]
        ordered = sorted(gain, key=lambda g: -g[1])
        return list(dict.fromkeys(p for p, _ in ordered))[:limit]

    def store(self, key: Key, entry: Entry) -> bool:
        """Store ``entry`` for ``key`` unless the entry already there is at least as good
        (:meth:`Entry.better_than`). Returns True when it was stored.

        Raises:
            LLMCError: the database cannot be written (nothing changed).
        """
        entry = entry if entry.time else replace(entry, time=time.time())
        try:
            with self._transaction():
                old = self.lookup(key)
                if old is not None and not entry.better_than(old, key.objective):
                    return False
                self.db.execute(
                    "INSERT OR REPLACE INTO tuned VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        key.hash,
                        key.triple,
                        key.codegen,
                        key.objective,
                        entry.pipeline,
                        entry.size,
                        entry.oz_size,
                        entry.instcount,
                        entry.oz_instcount,
                        entry.source,
                        entry.budget,
                        entry.time,
                    ),
                )
                return True
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot write to the tuning database: {err}") from None

    def cached_object(self, key: str) -> tuple[bytes, Key, Entry] | None:
        """The object stored under ``key`` (:func:`llmcompiler.driver.compile.object_key`)
        with its module's key and entry, when it was made with the pass list the
        database holds for that module now (a better list stored since, or a list
        deleted, makes it stale: None).

        Raises:
            LLMCError: the database cannot be read.
        """
        try:
            row = self.db.execute(
                "SELECT o.data, t.hash, t.triple, t.codegen, t.objective, t.pipeline, t.size, "
                "t.oz_size, t.instcount, t.oz_instcount, t.source, t.budget, t.time "
                "FROM objects o JOIN tuned t ON t.hash=o.hash AND t.triple=o.triple AND "
                "t.codegen=o.codegen AND t.objective=o.objective AND t.pipeline=o.pipeline "
                "WHERE o.key=?",
                (key,),
            ).fetchone()
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot read the tuning database: {err}") from None
        if row is None:
            return None
        return bytes(row[0]), Key(*row[1:5]), Entry(*row[5:])

    def store_object(
        self, key: str, module: Key, pipeline: str, data: bytes, size: int | None, limit: int
    ) -> None:
        """Keep the object ``data`` made from ``module`` with ``pipeline`` under ``key``;
        then, while all objects take more than ``limit`` bytes, delete the least recently
        stored ones (``limit`` 0 keeps none).

        Raises:
            LLMCError: the database cannot be written.
        """
        if limit <= 0 or len(data) > limit:
            return
        try:
            with self._transaction():
                self.db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        key,
                        module.hash,
                        module.triple,
                        module.codegen,
                        module.objective,
                        pipeline,
                        size,
                        len(data),
                        data,
                        time.time(),
                    ),
                )
                (total,) = self.db.execute("SELECT COALESCE(SUM(bytes), 0) FROM objects").fetchone()
                if total > limit:
                    rows = self.db.execute(
                        "SELECT key, bytes FROM objects ORDER BY used"
                    ).fetchall()
                    for old, n in rows:
                        if total <= limit * 0.9:
                            break
                        self.db.execute("DELETE FROM objects WHERE key=?", (old,))
                        total -= n
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot write to the tuning database: {err}") from None

    def object_totals(self) -> tuple[int, int]:
        """(objects kept, their bytes)."""
        return self.db.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM objects").fetchone()

    def log(self, row: Mapping) -> None:
        """Log one compile: ``row`` holds cwd, compiler, argv (a list), source, output,
        outcome (:data:`OUTCOMES`) and optionally hash, triple, codegen, objective,
        seconds, oz_size, size, message.

        Raises:
            LLMCError: the database cannot be written.
        """
        try:
            with self._transaction():
                self.db.execute(
                    "INSERT INTO compiles (time, cwd, compiler, argv, source, output, hash, "
                    "triple, codegen, objective, outcome, seconds, oz_size, size, message) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        row.get("time", time.time()),
                        row["cwd"],
                        row["compiler"],
                        json.dumps(list(row["argv"])),
                        row["source"],
                        row["output"],
                        row.get("hash"),
                        row.get("triple"),
                        row.get("codegen"),
                        row.get("objective"),
                        row["outcome"],
                        row.get("seconds"),
                        row.get("oz_size"),
                        row.get("size"),
                        row.get("message"),
                    ),
                )
        except sqlite3.Error as err:
            raise LLMCError(f"{self.path}: cannot write to the tuning database: {err}") from None

    def compiles(self) -> list[dict]:
        """Every logged compile, oldest first (``argv`` decoded to a list)."""
        cur = self.db.execute("SELECT * FROM compiles ORDER BY id")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur]
        for r in rows:
            r["argv"] = json.loads(r["argv"])
        return rows

    def entries(self) -> list[tuple[Key, Entry]]:
        """Every stored (key, entry)."""
        cur = self.db.execute("SELECT * FROM tuned ORDER BY hash, triple, codegen, objective")
        return [(Key(*r[:4]), Entry(*r[4:])) for r in cur]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> TuningDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Immediate:
    """``with``: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
