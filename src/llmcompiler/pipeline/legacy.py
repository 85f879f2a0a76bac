"""Legacy pass manager flags (``-mem2reg -licm``) converted to LLVM 19 pipelines.

The flag table is a data file pinned to LLVM 19 (``data/legacy_passes.toml``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from llmcompiler.pipeline.flat import Pipeline
from llmcompiler.pipeline.passes import Pass
from llmcompiler.pipeline.vocabulary import data_file, load_vocabulary


@dataclass(frozen=True)
class LegacyConversion:
    """Legacy ``-pass`` flags converted to LLVM 19: the pipeline and what did not convert."""

    pipeline: Pipeline
    #: flag -> why it has no LLVM 19 equivalent ("unknown legacy pass" when not in the table)
    unconverted: dict[str, str]
    #: flag -> why its (converted) pass is outside the search vocabulary
    flagged: dict[str, str]


@functools.cache
def legacy_table() -> dict[str, dict[str, str]]:
    """Return the legacy flag table: ``-flag`` -> {pass, level} or {none: reason}."""
    return data_file("legacy_passes.toml")["legacy"]


def from_legacy(flags: str | Sequence[str]) -> LegacyConversion:
    """Convert legacy pass manager flags (``"-mem2reg -licm"`` or a list) to a Pipeline.

    Flags may be written with one or two dashes or none. Returns a
    LegacyConversion: flags with no LLVM 19 equivalent, and unknown flags, are
    left out and listed in ``unconverted``; converted passes that search does
    not use (excluded or outside the vocabulary) are listed in ``flagged``.
    """
    if isinstance(flags, str):
        flags = flags.split()
    vocabulary = load_vocabulary()
    table = legacy_table()
    passes: list[Pass] = []
    unconverted: dict[str, str] = {}
    flagged: dict[str, str] = {}
    for flag in flags:
        entry = table.get("-" + flag.lstrip("-"))
        if entry is None:
            unconverted[flag] = "unknown legacy pass"
        elif "none" in entry:
            unconverted[flag] = entry["none"]
        else:
            p = Pass(entry["pass"], entry["level"])
            passes.append(p)
            reason = vocabulary.exclusion(p.name)
            if reason is None and p.name not in vocabulary and p.name not in vocabulary.aliases:
                reason = "not in the search vocabulary"
            if reason is not None:
                flagged[flag] = reason
    return LegacyConversion(Pipeline(tuple(passes)), unconverted, flagged)
