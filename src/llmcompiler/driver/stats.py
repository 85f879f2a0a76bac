"""``llmc cc --show-stats``: what the tuning database holds and what the compilers
logged, in the manner of ``ccache --show-stats``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from llmcompiler.driver.db import OUTCOMES, TuningDB


@dataclass(frozen=True)
class Stats:
    """Counts from one tuning database.

    Attributes:
        path: the database file.
        outcomes: compiles logged per outcome (every outcome of :data:`OUTCOMES`).
        seconds: seconds the logged compiles took in llmc, per outcome.
        lists: pass lists stored, per source ("search", "related", "autotune").
        objects: objects kept for hits, and their bytes.
        object_bytes: the bytes they take.
        latest: (objects, clang -Oz bytes, llmc bytes) over each output's latest compile
            that measured both sizes.
    """

    path: str
    outcomes: dict[str, int]
    seconds: dict[str, float]
    lists: dict[str, int]
    objects: int
    object_bytes: int
    latest: tuple[int, int, int]


def statistics(db: TuningDB) -> Stats:
    """The statistics of ``db``.

    Raises:
        LLMCError: the database cannot be read.
    """
    rows = db.compiles()
    outcomes = Counter(r["outcome"] for r in rows)
    seconds: Counter[str] = Counter()
    latest: dict[tuple[str, str], dict] = {}
    for r in rows:
        seconds[r["outcome"]] += r["seconds"] or 0.0
        latest[(r["cwd"], r["output"])] = r
    measured = [r for r in latest.values() if r["size"] is not None and r["oz_size"] is not None]
    lists = Counter(entry.source for _, entry in db.entries())
    objects, object_bytes = db.object_totals()
    return Stats(
        db.path,
        {o: outcomes.get(o, 0) for o in OUTCOMES},
        {o: seconds.get(o, 0.0) for o in OUTCOMES},
        dict(sorted(lists.items())),
        objects,
        object_bytes,
        (len(measured), sum(r["oz_size"] for r in measured), sum(r["size"] for r in measured)),
    )


def _human(n: int) -> str:
    """Bytes as ccache shows them: 20.0 KiB, 1.5 MiB, 2.0 GiB."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def format_stats(stats: Stats, cache_size: int) -> str:
    """``stats`` as lines of text (``cache_size``: the limit on kept objects, bytes)."""
    total = sum(stats.outcomes.values())
    tuned = stats.outcomes["hit"] + stats.outcomes["miss"]
    rate = f"{100.0 * stats.outcomes['hit'] / tuned:.1f} %" if tuned else "-"
    counts = ", ".join(f"{o} {n}" for o, n in stats.outcomes.items())
    spent = ", ".join(f"{o} {s:.1f} s" for o, s in stats.seconds.items() if s)
    lists = ", ".join(f"{k} {n}" for k, n in stats.lists.items()) or "none"
    n, oz, size = stats.latest
    change = f" ({100.0 * (size - oz) / oz:+.2f} % against clang -Oz)" if oz else ""
    lines = [
        ("Tuning database", stats.path),
        ("Compiles", f"{total} ({counts})"),
        ("Hit rate", f"{rate} of hits and misses"),
        ("Time in llmc", f"{sum(stats.seconds.values()):.1f} s ({spent or 'none'})"),
        ("Pass lists stored", f"{sum(stats.lists.values())} ({lists})"),
        (
            "Objects kept",
            f"{stats.objects}, {_human(stats.object_bytes)} of {_human(cache_size)}",
        ),
        ("Latest objects", f"{n}: {oz} bytes with clang -Oz, {size} with llmc cc{change}"),
    ]
    return "\n".join(f"{name + ':':<20}{value}" for name, value in lines)
