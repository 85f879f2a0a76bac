"""-Oz as an editable pipeline: LLVM's own ``default<Oz>`` expanded to its nested
pass tree, so search can drop a pass from inside it or flip one of a pass's options
(``switch-to-lookup`` -> ``no-switch-to-lookup``) while keeping everything else,
including the CGSCC interleaving that a flat pass list cannot express.

An edited -Oz is one module-level gene (``OzVariant``); its text is the full nested
pipeline, valid for ``opt -passes=``.
"""

from __future__ import annotations

import functools
import random
import subprocess
from dataclasses import dataclass, field

from llmcompiler.errors import LLVMNotFoundError, PipelineError
from llmcompiler.llvm import toolchain
from llmcompiler.passes import Pass, Vocabulary, load_vocabulary, parse_pipeline

#: Leaves that only request or drop analyses, or add nothing to remove.
_FIXED = (
    "require<",
    "invalidate<",
    "annotation2metadata",
    "coro-",
    "ee-instrument",
    "forceattrs",
    "transform-warning",
    "inject-tli-mappings",
    "openmp-opt",
)
#: Boolean pass options that take a ``no-`` prefix in LLVM 19.
_FLIPPABLE = frozenset(
    {
        "forward-switch-cond",
        "switch-range-to-icmp",
        "switch-to-lookup",
        "keep-loops",
        "hoist-common-insts",
        "sink-common-insts",
        "speculate-blocks",
        "simplify-cond-branch",
        "speculate-unpredictables",
        "allowspeculation",
        "header-duplication",
        "prepare-for-lto",
        "nontrivial",
        "trivial",
        "use-loop-info",
        "split-footer-bb",
        "interleave-forced-only",
        "vectorize-forced-only",
    }
)
#: Options that come in pairs instead.
_SWAPS = {"modify-cfg": "preserve-cfg", "preserve-cfg": "modify-cfg"}


@dataclass(frozen=True)
class Node:
    """One item of a pipeline: a pass (no children) or an adaptor with children."""

    name: str
    children: tuple[Node, ...] | None = None

    def render(self, edits: dict[int, str | None], counter: list[int]) -> str | None:
        if self.children is None:
            index = counter[0]
            counter[0] += 1
            return edits.get(index, self.name)
        inner = [t for c in self.children if (t := c.render(edits, counter)) is not None]
        return f"{self.name}({','.join(inner)})" if inner else None


def parse_tree(text: str) -> tuple[Node, ...]:
    """Parse nested pipeline text (as opt -print-pipeline-passes prints it) into nodes.

    Raises:
        ValueError: unbalanced parentheses or angle brackets.
    """
    pos = 0

    def items() -> list[Node]:
        nonlocal pos
        out: list[Node] = []
        while pos < len(text) and text[pos] != ")":
            start, angle = pos, 0
            while pos < len(text) and (angle or text[pos] not in ",()"):
                angle += {"<": 1, ">": -1}.get(text[pos], 0)
                pos += 1
            name = text[start:pos]
            if pos < len(text) and text[pos] == "(":
                pos += 1
                children = tuple(items())
                if pos >= len(text) or text[pos] != ")":
                    raise ValueError(f"missing ')' in pipeline at offset {pos}")
                pos += 1
                out.append(Node(name, children))
            else:
                out.append(Node(name))
            if pos < len(text) and text[pos] == ",":
                pos += 1
        return out

    nodes = tuple(items())
    if pos != len(text):
        raise ValueError(f"unexpected ')' in pipeline at offset {pos}")
    return nodes


def leaves(nodes: tuple[Node, ...]) -> list[str]:
    """The pass names of a tree in order (the indices edits refer to)."""
    out: list[str] = []
    for node in nodes:
        out.extend([node.name] if node.children is None else leaves(node.children))
    return out


def render(nodes: tuple[Node, ...], edits: dict[int, str | None]) -> str:
    """Pipeline text of ``nodes`` with leaf ``i`` replaced by ``edits[i]`` (None: removed);
    adaptors left empty are dropped."""
    counter = [0]
    return ",".join(t for n in nodes if (t := n.render(edits, counter)) is not None)


@functools.cache
def oz_text() -> str:
    """LLVM's own expansion of ``default<Oz>`` (opt-19 -print-pipeline-passes).

    Raises:
        LLVMNotFoundError: opt-19 is not installed.
    """
    proc = subprocess.run(
        [
            toolchain.tool("opt"),
            "-passes=default<Oz>",
            "-print-pipeline-passes",
            "-disable-output",
            "-",
        ],
        input=b"",
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LLVMNotFoundError(f"opt-19 could not print the -Oz pipeline: {proc.stderr!r}")
    return proc.stdout.decode().strip()


@dataclass(frozen=True)
class OzTemplate:
    """The -Oz tree and which of its leaves search may edit."""

    nodes: tuple[Node, ...]
    names: tuple[str, ...] = field(init=False)
    editable: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(leaves(self.nodes))
        object.__setattr__(self, "names", names)
        editable = tuple(i for i, n in enumerate(names) if not n.startswith(_FIXED))
        object.__setattr__(self, "editable", editable)

    def variant(self, edits: tuple[tuple[int, str | None], ...]) -> OzVariant:
        """The gene for -Oz with ``edits`` ((leaf index, new name or None)), kept sorted
        so that the same edits always make the same gene."""
        edits = tuple(sorted(edits, key=lambda e: e[0]))
        return OzVariant(render(self.nodes, dict(edits)), "module", edits)

    def alternatives(self, index: int) -> list[str | None]:
        """What leaf ``index`` may become: removed, or one option flipped (only options
        LLVM 19 accepts both ways; never ``verify-fixpoint``)."""
        name = self.names[index]
        out: list[str | None] = [None]
        base, _, params = name.partition("<")
        opts = params[:-1].split(";") if params else []
        for k, opt in enumerate(opts):
            plain = opt.removeprefix("no-")
            if plain in _SWAPS:
                flipped = _SWAPS[plain]
            elif plain in _FLIPPABLE:
                flipped = plain if opt.startswith("no-") else f"no-{plain}"
            else:
                continue
            out.append(f"{base}<{';'.join(opts[:k] + [flipped] + opts[k + 1 :])}>")
        return out

    def edit(self, rng: random.Random, gene: OzVariant | None) -> OzVariant:
        """Return ``gene`` (plain -Oz when None) with one leaf edited or one edit undone."""
        edits = dict(gene.edits) if gene is not None else {}
        if edits and rng.random() < 0.25:
            del edits[rng.choice(sorted(edits))]
        else:
            index = rng.choice(self.editable)
            choices = [a for a in self.alternatives(index) if edits.get(index, "") != a]
            if choices:
                edits[index] = rng.choice(choices)
            else:  # removed already and nothing else to try: restore it
                del edits[index]
        return self.variant(tuple(edits.items()))


@dataclass(frozen=True)
class OzVariant(Pass):
    """-Oz with some leaves removed or changed: one module-level gene."""

    edits: tuple[tuple[int, str | None], ...] = ()

    def describe(self, names: tuple[str, ...]) -> str:
        """A short account of the edits, e.g. ``default<Oz>{without loop-unroll<O2>#77}``
        (``#i`` is the pass's position among -Oz's passes ``names``)."""
        parts = []
        for index, new in self.edits:
            old = names[index]
            parts.append(f"without {old}#{index}" if new is None else f"{old}#{index} -> {new}")
        return "default<Oz>{" + "; ".join(parts) + "}"


def validate_nested(text: str, vocabulary: Vocabulary | None = None) -> str:
    """Check a nested pipeline built from -Oz's own expansion (an edited -Oz, as search
    and the coreset write it), whose bookkeeping passes a flat list may not hold.

    Every leaf must be one of -Oz's own leaves, exactly as LLVM prints it, or a pass the
    vocabulary accepts on its own. Returns the text, normalised by the tree parser.

    Raises:
        PipelineError: unbalanced text, or a leaf that is neither.
    """
    vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
    try:
        tree = parse_tree(text.strip())
    except ValueError as err:
        raise PipelineError(f"malformed pipeline: {err}") from None
    if not tree:
        raise PipelineError("empty pipeline")
    own = set(template().names)
    for leaf in leaves(tree):
        if leaf in own:
            continue
        try:
            parse_pipeline(leaf, vocabulary)
        except PipelineError as err:
            raise PipelineError(f"{leaf!r} is not one of -Oz's passes, and {err}") from None
    return render(tree, {})


@functools.cache
def template() -> OzTemplate:
    """The -Oz template of the installed LLVM."""
    return OzTemplate(parse_tree(oz_text()))
