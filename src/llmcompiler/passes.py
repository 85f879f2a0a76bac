"""Pass lists: the LLVM 19 pass vocabulary, and parsing, formatting and validating pipelines.

A :class:`Pipeline` is a flat list of passes, each with the level it runs at
(module, cgscc, function, loop or loop-mssa). ``format()`` writes it in
``opt -passes=`` syntax, grouping neighbours of the same level under one
adaptor; ``parse_pipeline`` reads any such string back, flattening adaptors
(``repeat<N>(...)`` is expanded, adaptor parameters such as
``function<eager-inv>`` are dropped). The vocabulary and the legacy-flag map
are data files pinned to LLVM 19 (``data/passes_llvm19.toml``,
``data/legacy_passes.toml``).
"""

from __future__ import annotations

import functools
import random
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

from llmcompiler.errors import PipelineError

LEVELS = ("module", "cgscc", "function", "loop", "loop-mssa")
_FUNCTION_LEVELS = ("function", "loop", "loop-mssa")
_ADAPTORS = {
    "module": "module",
    "cgscc": "cgscc",
    "devirt": "cgscc",
    "function": "function",
    "loop": "loop",
    "loop-mssa": "loop-mssa",
}
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Pass:
    """One pass: its full text (parameters included) and the level it runs at."""

    name: str
    level: str

    @property
    def base(self) -> str:
        """The name without ``<parameters>``."""
        return self.name.split("<", 1)[0]


@dataclass(frozen=True)
class Pipeline:
    """An ordered pass list. The empty pipeline runs no pass."""

    passes: tuple[Pass, ...] = ()

    def format(self) -> str:
        """Return the pipeline in ``opt -passes=`` syntax ('' when empty)."""
        items: list[str] = []
        i = 0
        while i < len(self.passes):
            level = self.passes[i].level
            if level == "module":
                items.append(self.passes[i].name)
                i += 1
                continue
            outer = "function" if level in _FUNCTION_LEVELS else "cgscc"
            j = i
            while j < len(self.passes) and _outer(self.passes[j].level) == outer:
                j += 1
            items.append(f"{outer}({_format_inner(self.passes[i:j])})")
            i = j
        return ",".join(items)

    def __len__(self) -> int:
        return len(self.passes)

    def __iter__(self) -> Iterator[Pass]:
        return iter(self.passes)

    def __str__(self) -> str:
        return self.format()


def _outer(level: str) -> str:
    return "function" if level in _FUNCTION_LEVELS else level


def _format_inner(passes: Sequence[Pass]) -> str:
    """Format function-or-cgscc-level passes, grouping loop passes by loop kind."""
    parts: list[str] = []
    i = 0
    while i < len(passes):
        level = passes[i].level
        if level in ("loop", "loop-mssa"):
            j = i
            while j < len(passes) and passes[j].level == level:
                j += 1
            parts.append(f"{level}({','.join(p.name for p in passes[i:j])})")
            i = j
        else:
            parts.append(passes[i].name)
            i += 1
    return ",".join(parts)


# -- parsing ----------------------------------------------------------------


class _Parser:
    """Recursive-descent parser for the new pass manager's textual pipelines."""

    def __init__(self, text: str, vocabulary: Vocabulary | None) -> None:
        self.text = re.sub(r"\s+", "", text)
        self.pos = 0
        self.vocabulary = vocabulary

    def error(self, message: str) -> PipelineError:
        return PipelineError(f"invalid pipeline {self.text!r}: {message} at offset {self.pos}")

    def parse(self) -> list[Pass]:
        if not self.text:
            return []
        passes = self.sequence(None)
        if self.pos != len(self.text):
            raise self.error(f"unexpected {self.text[self.pos]!r}")
        return passes

    def sequence(self, level: str | None) -> list[Pass]:
        passes = self.element(level)
        while self.pos < len(self.text) and self.text[self.pos] == ",":
            self.pos += 1
            passes += self.element(level)
        return passes

    def element(self, level: str | None) -> list[Pass]:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.error("expected a pass name")
        name = match.group()
        self.pos = match.end()
        params = self.params()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            if name == "repeat":
                inner = self.sequence(level)
                count = int(params[1:-1]) if params[1:-1].isdigit() else None
                if count is None:
                    raise self.error("repeat needs a count, e.g. repeat<2>(...)")
            elif name in _ADAPTORS:
                inner = self.sequence(_ADAPTORS[name])
                count = 1
            else:
                raise self.error(f"{name!r} is not an adaptor and cannot take '('")
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise self.error("missing ')'")
            self.pos += 1
            return inner * count
        return [self.leaf(name + params, level)]

    def params(self) -> str:
        if self.pos >= len(self.text) or self.text[self.pos] != "<":
            return ""
        depth, start = 0, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            depth += char == "<"
            depth -= char == ">"
            self.pos += 1
            if depth == 0:
                return self.text[start : self.pos]
        raise self.error("missing '>'")

    def leaf(self, name: str, level: str | None) -> Pass:
        vocabulary = self.vocabulary
        known = vocabulary.get(name) if vocabulary else None
        if vocabulary is not None:
            reason = vocabulary.excluded.get(name)
            if reason is None and known is None:
                reason = vocabulary.excluded.get(name.split("<", 1)[0])
            if reason is not None:
                raise PipelineError(f"pass {name!r} is excluded: {reason}")
            if known is None:
                raise PipelineError(
                    f"unknown pass {name!r} (not in the LLVM {vocabulary.llvm_version} vocabulary)"
                )
        if level is None:  # bare at top level: the vocabulary knows, else module
            level = known.level if known else "module"
        return Pass(name, level)


def parse_pipeline(text: str, vocabulary: Vocabulary | None = None) -> Pipeline:
    """Parse an ``opt -passes=`` string into a flat Pipeline.

    With a vocabulary, every pass must be in it (by full name or base name)
    and bare passes at top level take its level; without one, bare passes at
    top level are module passes and LLVM judges validity when it runs.

    Raises:
        PipelineError: malformed text, or a pass unknown to / excluded from the vocabulary.
    """
    return Pipeline(tuple(_Parser(text, vocabulary).parse()))


# -- the vocabulary -----------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """The passes search may use, pinned to one LLVM version."""

    llvm_version: int
    passes: tuple[Pass, ...]
    oz_passes: frozenset[Pass]
    excluded: dict[str, str]  # name -> reason
    notes: dict[str, str]  # name -> note

    def get(self, name: str) -> Pass | None:
        """Return the pass named ``name`` exactly or, for a name without parameters,
        the first variant with that base name (``sroa`` -> ``sroa<modify-cfg>``); else None."""
        found = self._by_name.get(name)
        if found is None and "<" not in name:
            found = self._by_base.get(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    @functools.cached_property
    def _by_name(self) -> dict[str, Pass]:
        return {p.name: p for p in self.passes}

    @functools.cached_property
    def _by_base(self) -> dict[str, Pass]:
        by_base: dict[str, Pass] = {}
        for p in self.passes:
            by_base.setdefault(p.base, p)
        return by_base


@functools.cache
def load_vocabulary(version: int = 19) -> Vocabulary:
    """Load the pass vocabulary for an LLVM major version.

    Raises:
        PipelineError: there is no vocabulary file for that version.
    """
    try:
        raw = resources.files("llmcompiler.data").joinpath(f"passes_llvm{version}.toml")
        data = tomllib.loads(raw.read_text())
    except FileNotFoundError:
        raise PipelineError(f"no pass vocabulary for LLVM {version}") from None
    passes = tuple(Pass(p["name"], p["level"]) for p in data["pass"])
    for p in passes:
        if p.level not in LEVELS:
            raise PipelineError(f"vocabulary: {p.name}: bad level {p.level!r}")
    return Vocabulary(
        llvm_version=data["llvm_version"],
        passes=passes,
        oz_passes=frozenset(Pass(p["name"], p["level"]) for p in data["pass"] if p["in_oz"]),
        excluded={e["name"]: e["reason"] for e in data.get("excluded", [])},
        notes={p["name"]: p.get("note", "") for p in data["pass"]},
    )


def validate(pipeline: Pipeline | str, vocabulary: Vocabulary | None = None) -> Pipeline:
    """Check that every pass is in the vocabulary at its level; return the Pipeline.

    Raises:
        PipelineError: a pass is unknown, excluded, or used at the wrong level.
    """
    vocabulary = vocabulary or load_vocabulary()
    if isinstance(pipeline, str):
        return parse_pipeline(pipeline, vocabulary)
    for p in pipeline:
        known = vocabulary.get(p.name)
        if known is None:
            parse_pipeline(p.name, vocabulary)  # raises with the precise reason
            raise PipelineError(f"unknown pass {p.name!r}")
        if _outer(known.level) != _outer(p.level):
            raise PipelineError(f"pass {p.name!r} runs at {known.level} level, not {p.level}")
    return pipeline


def random_pipeline(
    rng: random.Random, vocabulary: Vocabulary | None = None, min_len: int = 1, max_len: int = 50
) -> Pipeline:
    """Return a pipeline of ``min_len``..``max_len`` passes drawn uniformly from the vocabulary."""
    vocabulary = vocabulary or load_vocabulary()
    length = rng.randint(min_len, max_len)
    return Pipeline(tuple(rng.choice(vocabulary.passes) for _ in range(length)))


# -- legacy flags -------------------------------------------------------------


@dataclass(frozen=True)
class LegacyConversion:
    """The result of converting legacy ``-pass`` flags: the pipeline and what was left out."""

    pipeline: Pipeline
    unconverted: dict[str, str]  # flag -> reason
    flagged: dict[str, str]  # flag -> why the converted pass is outside the search vocabulary


@functools.cache
def _legacy_map() -> dict[str, dict]:
    raw = resources.files("llmcompiler.data").joinpath("legacy_passes.toml")
    return tomllib.loads(raw.read_text())["legacy"]


def from_legacy(flags: str | Sequence[str]) -> LegacyConversion:
    """Convert legacy pass manager flags (``"-mem2reg -licm"``) to a new-PM Pipeline.

    Flags without an LLVM 19 equivalent are reported in ``unconverted`` with the
    reason; unknown flags too. Returns a LegacyConversion.
    """
    if isinstance(flags, str):
        flags = flags.split()
    vocabulary = load_vocabulary()
    table = _legacy_map()
    passes: list[Pass] = []
    unconverted: dict[str, str] = {}
    flagged: dict[str, str] = {}
    for flag in flags:
        key = "-" + flag.lstrip("-")
        entry = table.get(key)
        if entry is None:
            unconverted[flag] = "unknown legacy pass"
        elif "none" in entry:
            unconverted[flag] = entry["none"]
        else:
            passes.append(Pass(entry["pass"], entry["level"]))
            base = entry["pass"].split("<")[0]
            if entry["pass"] not in vocabulary and base in vocabulary.excluded:
                flagged[flag] = vocabulary.excluded[base]
            elif entry["pass"] not in vocabulary:
                flagged[flag] = "not in the search vocabulary"
    return LegacyConversion(Pipeline(tuple(passes)), unconverted, flagged)
