"""The pass vocabulary pinned to one LLVM version: which passes search may use, at which
level, which are excluded and why, and every pass LLVM itself registers.

The vocabulary is a data file (``data/passes_llvm19.toml``); how it was checked is
written in its header.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources

from llmcompiler.errors import PipelineError
from llmcompiler.pipeline.functions import FUNCTIONS
from llmcompiler.pipeline.passes import DEPTH, Pass


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """The passes search may use, pinned to one LLVM version, and what LLVM knows besides.

    ``passes`` are the checked transform passes (one level per name);
    ``excluded`` maps names left out on purpose to the reason; ``oz_passes``
    are the passes that (up to equivalent parameters) appear in ``default<Oz>``.
    """

    llvm_version: int
    passes: tuple[Pass, ...]
    oz_passes: tuple[Pass, ...]
    excluded: dict[str, str]
    notes: dict[str, str]
    #: Pipeline aliases such as ``default<Oz>``: valid module-level items, never drawn at random.
    aliases: frozenset[str] = frozenset()
    #: llmcompiler's own steps (``llmc-narrow``) -> what they do: not LLVM passes; valid only
    #: at the top level of a pipeline, where the evaluator runs them (engine/steps.py).
    steps: dict[str, str] = field(default_factory=dict)
    #: Loop passes that abort unless run inside ``loop-mssa(...)``.
    requires_memoryssa: frozenset[str] = frozenset()
    #: Excluded base name -> parameter that makes a variant acceptable (instcombine).
    excluded_unless: dict[str, str] = field(default_factory=dict)
    #: Every pass LLVM knows (base name) -> the levels it is registered at.
    llvm_levels: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _by_name: dict[str, Pass] = field(init=False, repr=False)
    _by_base: dict[str, Pass] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_base: dict[str, Pass] = {}
        for p in self.passes:
            by_base.setdefault(p.base, p)
        object.__setattr__(self, "_by_name", {p.name: p for p in self.passes})
        object.__setattr__(self, "_by_base", by_base)

    def get(self, name: str) -> Pass | None:
        """Return the vocabulary pass for ``name``: the entry with that exact text, else
        (unless the name is excluded) the first entry with the same base name, so that
        ``sroa`` and ``simplifycfg<keep-loops>`` are found. Returns None when neither exists."""
        found = self._by_name.get(name)
        if found is None and self.exclusion(name) is None:
            found = self._by_base.get(name.split("<", 1)[0])
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def exclusion(self, name: str) -> str | None:
        """Return why ``name`` is excluded (by exact text or by base name), or None."""
        if name in self._by_name:
            return None
        base, _, params = name.partition("<")
        reason = self.excluded.get(name) or self.excluded.get(base)
        allowed_by = self.excluded_unless.get(base)
        if reason and allowed_by and allowed_by in params.rstrip(">").split(";"):
            return None
        return reason

    def level_of(self, name: str) -> str | None:
        """Return the level a bare ``name`` runs at: the vocabulary's, else the shallowest
        level LLVM registers it at (loop-mssa for passes that need MemorySSA), else None."""
        known = self.get(name)
        if known is not None:
            return known.level
        base = name.split("<", 1)[0]
        levels = self.llvm_levels.get(base)
        if not levels:
            return "module" if name in self.aliases or name in self.steps else None
        level = min(levels, key=DEPTH.__getitem__)
        return "loop-mssa" if level == "loop" and base in self.requires_memoryssa else level

    def level_in(self, name: str, context: str) -> str:
        """The level LLVM gives ``name`` written inside an adaptor of level ``context``."""
        levels = self.llvm_levels.get(name.split("<", 1)[0], frozenset())
        known = self.get(name)
        if known is not None:
            levels = levels | {known.level}
        if context in levels or not levels:
            return context
        deeper = [lv for lv in levels if DEPTH[lv] > DEPTH[context]]
        if not deeper:
            return context  # LLVM will reject it; keep what was written
        level = min(deeper, key=DEPTH.__getitem__)
        return "loop" if level == "loop-mssa" else level  # LLVM wraps in plain loop(...)

    def check(self, p: Pass) -> None:
        """Check one pass against the vocabulary: known, not excluded, at an allowed level.

        Raises:
            PipelineError: the pass is excluded, unknown, or at a level it cannot run at.
        """
        if p.name in self.steps or p.name.startswith(f"{FUNCTIONS}<"):
            if p.level != "module":
                raise PipelineError(nested_step(p.name))
            return
        if p.name in self.aliases:
            if p.level != "module":
                raise PipelineError(f"pipeline {p.name!r} runs at module level, not {p.level}")
            return
        reason = self.exclusion(p.name)
        if reason is not None:
            raise PipelineError(f"pass {p.name!r} is excluded: {reason}")
        known = self.get(p.name)
        if known is None:
            raise PipelineError(
                f"unknown pass {p.name!r} (not in the LLVM {self.llvm_version} vocabulary)"
            )
        plain_loop_ok = known.level == "loop-mssa" and p.base not in self.requires_memoryssa
        if p.level != known.level and not (p.level == "loop" and plain_loop_ok):
            raise PipelineError(f"pass {p.name!r} runs at {known.level} level, not {p.level}")


def nested_step(name: str) -> str:
    return (
        f"{name} is llmcompiler's own step and runs on the whole module: write it at the "
        "top level of the pipeline, not inside function(...) or another adaptor"
    )


def data_file(name: str) -> dict:
    return tomllib.loads(resources.files("llmcompiler.data").joinpath(name).read_text())


@functools.cache
def load_vocabulary(version: int = 19) -> Vocabulary:
    """Load (once) the pass vocabulary for an LLVM major version.

    Raises:
        PipelineError: there is no vocabulary file for that version, or it is malformed.
    """
    try:
        data = data_file(f"passes_llvm{version}.toml")
    except FileNotFoundError:
        raise PipelineError(f"no pass vocabulary for LLVM {version}") from None
    try:
        passes = tuple(Pass(p["name"], p["level"]) for p in data["pass"])
        llvm_levels: dict[str, frozenset[str]] = {}
        for level, names in data["llvm_passes"].items():
            for name in names:
                llvm_levels[name] = llvm_levels.get(name, frozenset()) | {level}
        return Vocabulary(
            llvm_version=data["llvm_version"],
            passes=passes,
            oz_passes=tuple(p for p, e in zip(passes, data["pass"]) if e["in_oz"]),
            excluded={e["name"]: e["reason"] for e in data["excluded"]},
            notes={p["name"]: p["note"] for p in data["pass"]},
            aliases=frozenset(data["pipeline_aliases"]),
            steps=dict(data.get("llmc_steps", {})),
            requires_memoryssa=frozenset(data["requires_memoryssa"]),
            excluded_unless={e["name"]: e["unless"] for e in data["excluded"] if "unless" in e},
            llvm_levels=llvm_levels,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise PipelineError(f"malformed pass vocabulary for LLVM {version}: {err}") from None
