"""Pass lists: the LLVM 19 pass vocabulary, and parsing, formatting and validating pipelines.

A :class:`Pipeline` is a flat list of passes, each with the level it runs at
(module, cgscc, function, loop or loop-mssa). ``format()`` writes it in
``opt -passes=`` syntax, grouping neighbours of the same level under one
adaptor; :func:`parse_pipeline` reads any such string back. Parsing flattens
the nesting: adaptor parameters (``function<eager-inv>``, ``devirt<4>``) are
dropped, ``repeat<N>(...)`` is expanded, and function passes written inside
``cgscc(...)`` become top-level function passes when formatted again.

A pass written inside an adaptor of a shallower level takes the level LLVM
gives it: LLVM wraps it in the missing adaptors, a loop pass in a plain
(non-MemorySSA) ``loop(...)``. So ``cgscc(mem2reg)`` holds mem2reg at function
level and ``function(licm)`` holds licm at loop level, which validation
rejects because licm needs ``loop-mssa``. A bare pass at top level takes its
level from the vocabulary, else from LLVM 19's pass table; a name LLVM 19
does not know is a module pass. LLVM itself is the final judge when the
pipeline runs.

The vocabulary and the legacy-flag map are data files pinned to LLVM 19
(``data/passes_llvm19.toml``, ``data/legacy_passes.toml``); how the vocabulary
was checked is written in its header.
"""

from __future__ import annotations

import functools
import random
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources

from llmcompiler.errors import PipelineError

LEVELS = ("module", "cgscc", "function", "loop", "loop-mssa")
_DEPTH = {"module": 0, "cgscc": 1, "function": 2, "loop": 3, "loop-mssa": 3}
#: Adaptor names (without parameters) and the level of the passes inside them.
_ADAPTORS = {"module": "module", "coro-cond": "module", "cgscc": "cgscc", "devirt": "cgscc"}
_ADAPTORS |= {level: level for level in ("function", "loop", "loop-mssa")}
_BASE = re.compile(r"[A-Za-z0-9_.\-]+")
_PASS_NAME = re.compile(r"[A-Za-z0-9_.\-]+(<[^<>]*>)*")
_MAX_NESTING = 64
_MAX_PASSES = 100_000


@dataclass(frozen=True)
class Pass:
    """One pass: its full text (parameters included) and the level it runs at.

    Raises ValueError for a level not in :data:`LEVELS`.
    """

    name: str
    level: str

    def __post_init__(self) -> None:
        if self.level not in _DEPTH:
            raise ValueError(
                f"pass {self.name!r}: level must be one of {LEVELS}, not {self.level!r}"
            )

    @property
    def base(self) -> str:
        """The name without ``<parameters>``: ``sroa<modify-cfg>`` -> ``sroa``."""
        return self.name.split("<", 1)[0]


def _outer(level: str) -> str:
    """The top-level adaptor a level is written in: loop passes live inside function(...)."""
    return "function" if _DEPTH[level] >= 2 else level


@dataclass(frozen=True)
class Pipeline:
    """An ordered pass list. The empty pipeline runs no pass (formats as '')."""

    passes: tuple[Pass, ...] = ()

    def format(self) -> str:
        """Return the pipeline in canonical ``opt -passes=`` syntax ('' when empty).

        Module passes are written bare; runs of cgscc passes share one
        ``cgscc(...)``; runs of function and loop passes share one
        ``function(...)``, in which runs of loop passes of one kind share one
        ``loop(...)`` or ``loop-mssa(...)``.
        """
        items: list[str] = []
        for outer, run in _runs(self.passes, lambda p: _outer(p.level)):
            if outer == "module":
                items.extend(p.name for p in run)
            elif outer == "cgscc":
                items.append(f"cgscc({','.join(p.name for p in run)})")
            else:
                inner = [
                    f"{level}({','.join(p.name for p in sub)})"
                    if level != "function"
                    else ",".join(p.name for p in sub)
                    for level, sub in _runs(run, lambda p: p.level)
                ]
                items.append(f"function({','.join(inner)})")
        return ",".join(items)

    def __len__(self) -> int:
        return len(self.passes)

    def __iter__(self) -> Iterator[Pass]:
        return iter(self.passes)

    def __str__(self) -> str:
        return self.format()


def _runs(passes: Sequence[Pass], key) -> Iterator[tuple[str, list[Pass]]]:
    """Yield (key, passes) for each maximal run of neighbours with the same key."""
    run: list[Pass] = []
    for p in passes:
        if run and key(p) != key(run[0]):
            yield key(run[0]), run
            run = []
        run.append(p)
    if run:
        yield key(run[0]), run


# -- the vocabulary -----------------------------------------------------------


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
    #: at the top level of a pipeline, where the evaluator runs them (evaluate/steps.py).
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
        level = min(levels, key=_DEPTH.__getitem__)
        return "loop-mssa" if level == "loop" and base in self.requires_memoryssa else level

    def _level_in(self, name: str, context: str) -> str:
        """The level LLVM gives ``name`` written inside an adaptor of level ``context``."""
        levels = self.llvm_levels.get(name.split("<", 1)[0], frozenset())
        known = self.get(name)
        if known is not None:
            levels = levels | {known.level}
        if context in levels or not levels:
            return context
        deeper = [lv for lv in levels if _DEPTH[lv] > _DEPTH[context]]
        if not deeper:
            return context  # LLVM will reject it; keep what was written
        level = min(deeper, key=_DEPTH.__getitem__)
        return "loop" if level == "loop-mssa" else level  # LLVM wraps in plain loop(...)

    def check(self, p: Pass) -> None:
        """Check one pass against the vocabulary: known, not excluded, at an allowed level.

        Raises:
            PipelineError: the pass is excluded, unknown, or at a level it cannot run at.
        """
        if p.name in self.steps:
            if p.level != "module":
                raise PipelineError(_nested_step(p.name))
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


def _nested_step(name: str) -> str:
    return (
        f"{name} is llmcompiler's own step and runs on the whole module: write it at the "
        "top level of the pipeline, not inside function(...) or another adaptor"
    )


def steps_in(text: str) -> list[str]:
    """Return the llmcompiler steps (``llmc-narrow``) named anywhere in pipeline text,
    nested or not, in order; [] for a pure LLVM pipeline."""
    steps = load_vocabulary().steps
    return [t for t in re.split(r"[\s,()]+", text) if t.split("<", 1)[0] in steps]


def _data(name: str) -> dict:
    return tomllib.loads(resources.files("llmcompiler.data").joinpath(name).read_text())


@functools.cache
def load_vocabulary(version: int = 19) -> Vocabulary:
    """Load (once) the pass vocabulary for an LLVM major version.

    Raises:
        PipelineError: there is no vocabulary file for that version, or it is malformed.
    """
    try:
        data = _data(f"passes_llvm{version}.toml")
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


# -- parsing ----------------------------------------------------------------


class _Parser:
    """Recursive-descent parser for the new pass manager's textual pipelines.

    Like LLVM, a pass name runs to the next ',', '(' or ')', so parameters never
    hold those characters; whitespace is ignored everywhere.
    """

    def __init__(self, text: str, vocabulary: Vocabulary | None) -> None:
        self.original = text
        self.where = [i for i, c in enumerate(text) if not c.isspace()]  # offsets in `text`
        self.text = "".join(text[i] for i in self.where)
        self.pos = self.depth = 0
        self.vocabulary = vocabulary
        self.levels = vocabulary if vocabulary is not None else load_vocabulary()

    def error(self, message: str) -> PipelineError:
        offset = self.where[self.pos] if self.pos < len(self.where) else len(self.original)
        shown = self.original
        if len(shown) > 80:  # show 80 characters around the offset
            start = min(max(0, offset - 40), len(shown) - 80)
            end = start + 80
            shown = (
                ("..." if start else "") + shown[start:end] + ("..." if end < len(shown) else "")
            )
        return PipelineError(f"invalid pipeline {shown!r}: {message} at offset {offset}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> list[Pass]:
        if not self.text:
            return []
        passes = self.sequence(None)
        if self.peek() == ")":
            raise self.error("unbalanced ')'")
        return passes

    def sequence(self, context: str | None) -> list[Pass]:
        passes = self.element(context)
        while self.peek() == ",":
            self.pos += 1
            passes += self.element(context)
        if self.peek() not in ("", ")"):
            raise self.error(f"expected ',' or ')' but found {self.peek()!r}")
        return passes

    def element(self, context: str | None) -> list[Pass]:
        start = self.pos
        while self.peek() not in ("", ",", "(", ")"):
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            raise self.error("empty pass name")
        if not _PASS_NAME.fullmatch(name):
            self.pos = start
            params = _BASE.fullmatch(name.split("<", 1)[0]) and "<" in name
            bad = "unbalanced '<' or '>' in" if params else "invalid pass name"
            raise self.error(f"{bad} {name!r}")
        if self.peek() != "(":
            return [self.leaf(name, context)]
        base, _, params = name.partition("<")
        if self.depth == _MAX_NESTING:
            raise self.error(f"adaptors nested more than {_MAX_NESTING} deep")
        self.pos += 1
        self.depth += 1
        if base == "repeat":
            count = params[:-1]
            if not count.isdigit():
                self.pos = start
                raise self.error("repeat needs a count, e.g. repeat<2>(...)")
            inner = self.sequence(context)
            if len(inner) * int(count) > _MAX_PASSES:
                self.pos = start
                raise self.error(f"{name} expands to more than {_MAX_PASSES} passes")
            inner *= int(count)
        elif base in _ADAPTORS:
            level = _ADAPTORS[base]
            if context is not None and _DEPTH[level] < _DEPTH[context]:
                self.pos = start
                raise self.error(f"'{base}(...)' cannot be nested inside {context} passes")
            inner = self.sequence(level)
        else:
            self.pos -= 1
            raise self.error(f"{name!r} is not an adaptor and cannot take '('")
        self.depth -= 1
        if self.peek() != ")":
            raise self.error("missing ')'")
        self.pos += 1
        return inner

    def leaf(self, name: str, context: str | None) -> Pass:
        if name.split("<", 1)[0] in self.levels.steps:
            self.pos -= len(name)  # errors point at the name
            if name not in self.levels.steps:
                raise self.error(f"{name.split('<', 1)[0]} takes no parameters")
            if self.depth:  # inside function(...), repeat<N>(...), module(...): only top level
                raise self.error(_nested_step(name))
            self.pos += len(name)
        if context is None:
            level = self.levels.level_of(name) or "module"
        else:
            level = self.levels._level_in(name, context)
        p = Pass(name, level)
        if self.vocabulary is not None:
            self.vocabulary.check(p)
        return p


def parse_pipeline(text: str, vocabulary: Vocabulary | None = None) -> Pipeline:
    """Parse an ``opt -passes=`` string (nested adaptors or a flat ``a,b,c`` list).

    Returns the flat Pipeline ('' gives the empty one). With a vocabulary every
    pass must pass :meth:`Vocabulary.check`; without one, any well-formed name
    is accepted (see the module docstring for the levels given to bare names).

    Raises:
        PipelineError: malformed text (message names the offset), or, with a
            vocabulary, a pass that is unknown, excluded or at the wrong level.
    """
    return Pipeline(tuple(_Parser(text, vocabulary).parse()))


def validate(pipeline: Pipeline | str, vocabulary: Vocabulary | None = None) -> Pipeline:
    """Check that every pass is in the vocabulary (default: LLVM 19's) at an allowed level.

    Returns the Pipeline (parsed first when given as text).

    Raises:
        PipelineError: malformed text, or a pass unknown, excluded or at the wrong level.
    """
    vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
    if isinstance(pipeline, str):
        return parse_pipeline(pipeline, vocabulary)
    for p in pipeline:
        vocabulary.check(p)
    return pipeline


def random_pipeline(
    rng: random.Random, vocabulary: Vocabulary | None = None, min_len: int = 1, max_len: int = 50
) -> Pipeline:
    """Return a pipeline of ``min_len``..``max_len`` passes (length uniform), each drawn
    uniformly with replacement from ``vocabulary.passes`` (default: LLVM 19's).

    Raises:
        ValueError: ``min_len`` is negative or larger than ``max_len``.
    """
    if not 0 <= min_len <= max_len:
        raise ValueError(f"need 0 <= min_len <= max_len, got {min_len} and {max_len}")
    vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
    length = rng.randint(min_len, max_len)
    return Pipeline(tuple(rng.choice(vocabulary.passes) for _ in range(length)))


# -- legacy flags -------------------------------------------------------------


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
    return _data("legacy_passes.toml")["legacy"]


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
