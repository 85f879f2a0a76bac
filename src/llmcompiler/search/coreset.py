"""Coresets: a few pass lists that, tried first, capture most of what search finds.

A coreset file is JSON with its provenance (corpus, budget, LLVM version) and its
lists; ``build_coreset`` picks them from an autotuning database by greedy set cover.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from llmcompiler.errors import LLMCError

SCHEMA_VERSION = 1
SHIPPED = "coreset_llvm19.json"


@dataclass(frozen=True)
class Coreset:
    """Pass lists (opt -passes= text), best first, and where they came from."""

    pipelines: tuple[str, ...]
    provenance: dict


def load_coreset(path: str | None = None) -> Coreset:
    """Load a coreset file, or the shipped one when ``path`` is None (empty if absent).

    Raises:
        LLMCError: the file is missing or not a coreset.
    """
    if path is None:
        shipped = resources.files("llmcompiler.data").joinpath(SHIPPED)
        if not shipped.is_file():
            return Coreset((), {})
        text = shipped.read_text()
        where = f"shipped {SHIPPED}"
    else:
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise LLMCError(f"{path}: cannot read coreset: {err.strerror}") from None
        where = path
    try:
        data = json.loads(text)
        lists = tuple(entry["pipeline"] for entry in data["lists"])
    except (ValueError, KeyError, TypeError) as err:
        raise LLMCError(f"{where}: not a coreset file: {err}") from None
    return Coreset(lists, {k: v for k, v in data.items() if k != "lists"})
