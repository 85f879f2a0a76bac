"""Module lists written by ``real_code.py``: one ``path<TAB>project<TAB>family`` per line."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple


class Entry(NamedTuple):
    path: str
    project: str
    family: str


def read_modules(path: Path | str) -> list[Entry]:
    """The list's modules, in its order."""
    return [Entry(*ln.split("\t")[:3]) for ln in Path(path).read_text().splitlines() if ln]


def per_project(rows: list[Entry], count: int, seed: int = 0) -> list[Entry]:
    """``count`` modules of each project (all of them for 0): a seeded sample taken
    project by project in name order (what ``tuning.py --per-project`` measures)."""
    if not count:
        return rows
    by_project: dict[str, list[Entry]] = defaultdict(list)
    for row in rows:
        by_project[row.project].append(row)
    rng = random.Random(seed)
    return [
        row
        for project in sorted(by_project)
        for row in rng.sample(by_project[project], min(count, len(by_project[project])))
    ]


def within_size(rows: list[Entry], low: int = 0, high: int | None = None) -> list[Entry]:
    """The modules of ``low`` to ``high`` (excluded; None: no limit) IR instructions
    before optimization, as the corpus manifest (``manifest.jsonl`` beside ``modules/``)
    records them.

    Raises:
        FileNotFoundError: a module's corpus has no manifest.
        KeyError: the manifest does not know a module.
    """
    counts: dict[Path, int] = {}
    for corpus in {Path(row.path).parents[2] for row in rows}:  # CORPUS/modules/xx/HASH.bc
        with open(corpus / "manifest.jsonl") as f:
            for line in f:
                record = json.loads(line)
                counts[corpus / record["path"]] = record["instcount"]
    sizes = [(row, counts[Path(row.path)]) for row in rows]
    return [row for row, n in sizes if n >= low and (high is None or n < high)]
