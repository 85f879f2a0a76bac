"""Module lists written by ``real_code.py``: one ``path<TAB>project<TAB>family`` per line."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple


class Entry(NamedTuple):
    path: str
    project: str
    family: str


def read_modules(path: Path | str, per_project: int = 0, seed: int = 0) -> list[Entry]:
    """The list's modules; with ``per_project``, that many of each project, a seeded
    sample taken project by project in name order (what ``tuning.py --per-project``
    measures)."""
    rows = [Entry(*ln.split("\t")[:3]) for ln in Path(path).read_text().splitlines() if ln]
    if not per_project:
        return rows
    by_project: dict[str, list[Entry]] = defaultdict(list)
    for row in rows:
        by_project[row.project].append(row)
    rng = random.Random(seed)
    return [
        row
        for project in sorted(by_project)
        for row in rng.sample(by_project[project], min(per_project, len(by_project[project])))
    ]
