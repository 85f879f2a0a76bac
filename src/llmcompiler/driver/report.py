"""What ``llmc cc`` did for a build: ``llmc report``.

Three parts, each from what is on disk or in the log:

- **binaries**: each linked ELF executable and shared library of the build next to the
  same file of a plain ``clang -Oz`` build (paired by path relative to the two build
  folders, or named in pairs), with its binary size (text + data, as llvm-size-19
  prints them) and the difference;
- **objects**: for each object the compile log names, its latest compile: the outcome,
  clang -Oz's size and llmc's (both measured with the command's flags when the module
  was tuned; the same on ``large``; none on a fallback or an error) and the difference;
- **totals**: compiles per outcome and the seconds they took in llmc (each compile's
  own clang runs included: the log keeps no other times).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmcompiler.driver.argv import COMPILE, classify
from llmcompiler.driver.db import OUTCOMES, TuningDB
from llmcompiler.errors import InputError, LLMCError

#: ELF file types that are linked binaries: executables (ET_EXEC) and shared objects
#: (ET_DYN: libraries and position-independent executables)
_LINKED = (2, 3)


@dataclass(frozen=True)
class Binary:
    """A linked binary and its baseline (paths as shown), with their binary sizes."""

    binary: str
    baseline: str
    size: int
    baseline_size: int

    @property
    def difference(self) -> int:
        """Bytes llmc's binary has more (negative: fewer) than the baseline's."""
        return self.size - self.baseline_size

    @property
    def difference_pct(self) -> float:
        """:attr:`difference` in percent of the baseline (0 for an empty baseline)."""
        return 100.0 * self.difference / self.baseline_size if self.baseline_size else 0.0


@dataclass(frozen=True)
class ObjectFile:
    """An object's latest compile in the log. ``kind`` is "object", or "link" for a
    whole-program link (``llmc cc -flto``), whose sizes are the linked program's."""

    output: str
    source: str
    outcome: str
    oz_size: int | None
    size: int | None
    seconds: float | None
    kind: str = "object"

    @property
    def difference(self) -> int | None:
        """Bytes llmc's object has more (negative: fewer) than clang -Oz's (None when
        either size is unknown)."""
        if self.oz_size is None or self.size is None:
            return None
        return self.size - self.oz_size


@dataclass(frozen=True)
class Report:
    """The three parts (the module docstring); ``totals`` counts every logged compile
    (not only the latest of each object) by outcome, with ``compiles`` and
    ``seconds`` (in llmc)."""

    database: str
    binaries: tuple[Binary, ...] = ()
    objects: tuple[ObjectFile, ...] = ()
    totals: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The report as ``llmc report --json`` prints it (schemas/report.json)."""
        binaries = [
            {**asdict(b), "difference": b.difference, "difference_pct": round(b.difference_pct, 4)}
            for b in self.binaries
        ]
        objects = [{**asdict(o), "difference": o.difference} for o in self.objects]
        return {
            "database": self.database,
            "binaries": binaries,
            "objects": objects,
            "totals": dict(self.totals),
        }


def report(
    database: str | os.PathLike,
    pairs: Sequence[tuple[str, str]] = (),
    build: str | None = None,
) -> Report:
    """The report of the build whose compiles ``database`` logged; ``pairs`` are
    (binary, baseline) paths; with ``build``, only compiles whose object lies under it
    count.

    Raises:
        InputError: no database there, or a binary of ``pairs`` cannot be read.
        LLMCError: the database cannot be read.
    """
    if not os.path.isfile(database):
        raise InputError(f"{database}: no such tuning database")
    with TuningDB(database) as db:
        rows = db.compiles()
    if build is not None:
        top = os.path.realpath(build)
        rows = [r for r in rows if _under(_output(r), top)]
    latest = {_output(r): r for r in rows}  # the log is oldest first
    objects = tuple(sorted((_object(r, build) for r in latest.values()), key=lambda o: o.output))
    binaries = tuple(_binary(b, a) for b, a in pairs)
    return Report(os.fspath(database), binaries, objects, totals(rows))


def totals(rows: Iterable[dict]) -> dict:
    """Compiles per outcome (each of :data:`OUTCOMES`, and ``compiles`` in all) and
    ``seconds``: their time in llmc."""
    out: dict = {"compiles": 0, **dict.fromkeys(OUTCOMES, 0), "seconds": 0.0}
    for r in rows:
        out["compiles"] += 1
        out[r["outcome"]] = out.get(r["outcome"], 0) + 1
        out["seconds"] += r["seconds"] or 0.0
    out["seconds"] = round(out["seconds"], 3)
    return out


def linked_pairs(build: str, baseline: str) -> list[tuple[str, str]]:
    """(binary, baseline) for every linked ELF binary (an executable or a shared
    object, told by its header; links not followed) under ``build`` whose relative path
    is also a file under ``baseline``, sorted by that path.

    Raises:
        InputError: either folder does not exist.
    """
    for folder in (build, baseline):
        if not os.path.isdir(folder):
            raise InputError(f"{folder}: no such directory")
    pairs = []
    for root, dirs, files in os.walk(build):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            other = os.path.join(baseline, os.path.relpath(path, build))
            if not os.path.islink(path) and os.path.isfile(other) and is_linked_elf(path):
                pairs.append((path, other))
    return pairs


def is_linked_elf(path: str | os.PathLike) -> bool:
    """True when ``path`` is an ELF executable or shared object (not an object file or
    an archive); False for anything else, or a file that cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(18)
    except OSError:
        return False
    if len(head) < 18 or head[:4] != b"\x7fELF" or head[5] not in (1, 2):
        return False
    return int.from_bytes(head[16:18], "little" if head[5] == 1 else "big") in _LINKED


def binary_size(path: str | os.PathLike) -> int:
    """text + data of a linked binary, as llvm-size-19 prints them.

    Raises:
        InputError: the file cannot be read or is no object format llvm-size reads.
    """
    from llmcompiler.llvm import berkeley_size

    try:
        return berkeley_size(Path(path).read_bytes()).binary_size
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    except LLMCError as err:
        raise InputError(f"{path}: {err}") from None


def _binary(path: str, baseline: str) -> Binary:
    return Binary(path, baseline, binary_size(path), binary_size(baseline))


def _output(row: dict) -> str:
    """The absolute path of a logged compile's output."""
    return os.path.normpath(os.path.join(row["cwd"], row["output"]))


def _under(path: str, top: str) -> bool:
    real = os.path.realpath(path)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _object(row: dict, build: str | None) -> ObjectFile:
    output = _output(row)
    base = os.path.realpath(build or os.getcwd())
    shown = os.path.relpath(os.path.realpath(output), base) if _under(output, base) else output
    seconds = None if row["seconds"] is None else round(row["seconds"], 3)
    kind = "object" if classify(row["argv"]).kind == COMPILE else "link"
    return ObjectFile(
        shown, row["source"], row["outcome"], row["oz_size"], row["size"], seconds, kind
    )
