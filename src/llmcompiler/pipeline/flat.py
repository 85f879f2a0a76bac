"""Flat pass lists: the pipeline model search works on.

A :class:`Pipeline` is a flat list of passes, each with the level it runs at
(module, cgscc, function, loop or loop-mssa). ``format()`` writes it in
``opt -passes=`` syntax, grouping neighbours of the same level under one
adaptor; :func:`parse_pipeline` reads any such string back through the one
tree parser (:mod:`.tree`) and flattens the tree: adaptor parameters
(``function<eager-inv>``, ``devirt<4>``) are dropped, ``repeat<N>(...)`` is
expanded, and function passes written inside ``cgscc(...)`` become top-level
function passes when formatted again.

A pass written inside an adaptor of a shallower level takes the level LLVM
gives it: LLVM wraps it in the missing adaptors, a loop pass in a plain
(non-MemorySSA) ``loop(...)``. So ``cgscc(mem2reg)`` holds mem2reg at function
level and ``function(licm)`` holds licm at loop level, which validation
rejects because licm needs ``loop-mssa``. A bare pass at top level takes its
level from the vocabulary, else from LLVM 19's pass table; a name LLVM 19
does not know is a module pass. LLVM itself is the final judge when the
pipeline runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from llmcompiler.pipeline.functions import FUNCTIONS, descendants, function_step
from llmcompiler.pipeline.passes import DEPTH, LEVELS, Pass
from llmcompiler.pipeline.tree import Node, Tree, parse_tree, render
from llmcompiler.pipeline.vocabulary import Vocabulary, load_vocabulary, nested_step

__all__ = ["LEVELS", "Pass", "Pipeline", "parse_pipeline", "validate", "random_pipeline"]

#: Adaptor names (without parameters) and the level of the passes inside them.
ADAPTORS = {"module": "module", "coro-cond": "module", "cgscc": "cgscc", "devirt": "cgscc"}
ADAPTORS |= {level: level for level in ("function", "loop", "loop-mssa")}
MAX_PASSES = 100_000


def _outer(level: str) -> str:
    """The top-level adaptor a level is written in: loop passes live inside function(...)."""
    return "function" if DEPTH[level] >= 2 else level


@dataclass(frozen=True)
class Pipeline:
    """An ordered pass list. The empty pipeline runs no pass (formats as '')."""

    passes: tuple[Pass, ...] = ()

    def nodes(self) -> tuple[Node, ...]:
        """The list as a tree: module passes bare; runs of cgscc passes under one
        ``cgscc``; runs of function and loop passes under one ``function``, in which
        runs of loop passes of one kind share one ``loop`` or ``loop-mssa``."""
        items: list[Node] = []
        for outer, run in _runs(self.passes, lambda p: _outer(p.level)):
            if outer == "module":
                items.extend(Node(p.name) for p in run)
            elif outer == "cgscc":
                items.append(Node("cgscc", tuple(Node(p.name) for p in run)))
            else:
                inner: list[Node] = []
                for level, sub in _runs(run, lambda p: p.level):
                    if level == "function":
                        inner.extend(Node(p.name) for p in sub)
                    else:
                        inner.append(Node(level, tuple(Node(p.name) for p in sub)))
                items.append(Node("function", tuple(inner)))
        return tuple(items)

    def format(self) -> str:
        """Return the pipeline in canonical ``opt -passes=`` syntax ('' when empty)."""
        return render(self.nodes())

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


class _Flattener:
    """Walks a parsed tree, giving each pass its level (see the module docstring)."""

    def __init__(self, tree: Tree, vocabulary: Vocabulary | None) -> None:
        self.tree = tree
        self.vocabulary = vocabulary
        self.levels = vocabulary if vocabulary is not None else load_vocabulary()

    def sequence(self, nodes: tuple[Node, ...], context: str | None, depth: int) -> list[Pass]:
        out: list[Pass] = []
        for node in nodes:
            out += self.element(node, context, depth)
        return out

    def element(self, node: Node, context: str | None, depth: int) -> list[Pass]:
        if node.base == FUNCTIONS:  # one opaque module-level item, its inside checked
            if depth:
                raise self.tree.error(node.offset, nested_step(FUNCTIONS))
            function_step(self.tree, node)
            self.sequence(node.children, None, depth + 1)
            return [Pass(render((node,)), "module")]
        if node.children is None:
            return [self.leaf(node, context, depth)]
        if node.base == "repeat":
            count = node.params if node.name.endswith(">") else ""
            if not count.isdigit():
                raise self.tree.error(node.offset, "repeat needs a count, e.g. repeat<2>(...)")
            inner = self.sequence(node.children, context, depth + 1)
            if len(inner) * int(count) > MAX_PASSES:
                raise self.tree.error(
                    node.offset, f"{node.name} expands to more than {MAX_PASSES} passes"
                )
            return inner * int(count)
        if node.base in ADAPTORS:
            level = ADAPTORS[node.base]
            if context is not None and DEPTH[level] < DEPTH[context]:
                raise self.tree.error(
                    node.offset, f"'{node.base}(...)' cannot be nested inside {context} passes"
                )
            return self.sequence(node.children, level, depth + 1)
        raise self.tree.error(
            node.offset + len(node.name), f"{node.name!r} is not an adaptor and cannot take '('"
        )

    def leaf(self, node: Node, context: str | None, depth: int) -> Pass:
        name = node.name
        if node.base in self.levels.steps:
            if name not in self.levels.steps:
                raise self.tree.error(node.offset, f"{node.base} takes no parameters")
            if depth:  # inside function(...), repeat<N>(...), module(...): only top level
                raise self.tree.error(node.offset, nested_step(name))
        if context is None:
            level = self.levels.level_of(name) or "module"
        else:
            level = self.levels.level_in(name, context)
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
    tree = parse_tree(text)
    return Pipeline(tuple(_Flattener(tree, vocabulary).sequence(tree.nodes, None, 0)))


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


def steps_in(text: str) -> list[str]:
    """Return the llmcompiler steps (``llmc-narrow``) named anywhere in pipeline text,
    nested or not, in order; [] for a pure LLVM pipeline.

    Raises:
        PipelineError: malformed text.
    """
    steps = load_vocabulary().steps
    found = []
    for top in parse_tree(text).nodes:
        for node in (top, *descendants(top)):
            if node.base in steps:
                found.append(node.base if node.base == FUNCTIONS else node.name)
    return found


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
