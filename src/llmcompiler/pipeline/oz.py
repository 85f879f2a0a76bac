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
from llmcompiler.pipeline.flat import parse_pipeline, validate
from llmcompiler.pipeline.passes import OZ, Pass
from llmcompiler.pipeline.tree import Node, leaves, parse_tree, render
from llmcompiler.pipeline.vocabulary import Vocabulary, load_vocabulary

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
#: Numeric options and the other values search may give them (-Oz uses 1 for both):
#: how many times instcombine may iterate, and how many instructions simplifycfg may
#: speculate when it folds a branch into its predecessor.
_NUMBERS = {"max-iterations": ("2", "4"), "bonus-inst-threshold": ("0", "2", "4")}
_MADE_KEPT = 8192  # variants an OzTemplate remembers


@functools.cache
def oz_text() -> str:
    """LLVM's own expansion of ``default<Oz>`` (opt-19 -print-pipeline-passes).

    Raises:
        LLVMNotFoundError: opt-19 is not installed.
    """
    proc = subprocess.run(
        [
            toolchain.tool("opt"),
            f"-passes={OZ}",
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
    #: genes made so far, by their edits: rendering the tree costs more than a small
    #: program's evaluation, and search makes the same variants again and again
    _made: dict = field(init=False, default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = tuple(leaf.name for leaf in leaves(self.nodes))
        object.__setattr__(self, "names", names)
        editable = tuple(i for i, n in enumerate(names) if not n.startswith(_FIXED))
        object.__setattr__(self, "editable", editable)

    def variant(self, edits: tuple[tuple[int, str | None], ...]) -> OzVariant:
        """The gene for -Oz with ``edits`` ((leaf index, new name or None)), kept sorted
        so that the same edits always make the same gene."""
        edits = tuple(sorted(edits, key=lambda e: e[0]))
        gene = self._made.get(edits)
        if gene is None:
            if len(self._made) >= _MADE_KEPT:
                self._made.clear()
            gene = self._made[edits] = OzVariant(render(self.nodes, dict(edits)), "module", edits)
        return gene

    def alternatives(self, index: int) -> list[str | None]:
        """What leaf ``index`` may become: removed, one option flipped (only options
        LLVM 19 accepts both ways; never ``verify-fixpoint``), or one numeric option
        set to another value (``max-iterations``, ``bonus-inst-threshold``)."""
        name = self.names[index]
        out: list[str | None] = [None]
        base, _, params = name.partition("<")
        opts = params[:-1].split(";") if params else []
        for k, opt in enumerate(opts):
            key, eq, value = opt.partition("=")
            if eq and key in _NUMBERS:
                for other in _NUMBERS[key]:
                    if other != value:
                        changed = opts[:k] + [f"{key}={other}"] + opts[k + 1 :]
                        out.append(f"{base}<{';'.join(changed)}>")
                continue
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


def validate_nested(text: str, vocabulary: Vocabulary | None = None) -> str:
    """Check a nested pipeline built from -Oz's own expansion (an edited -Oz, as search
    and the coreset write it), whose bookkeeping passes a flat list may not hold.

    Every leaf must be one of -Oz's own leaves, exactly as LLVM prints it, or a pass the
    vocabulary accepts on its own. Returns the text, normalised by the tree parser.

    Raises:
        PipelineError: malformed text, or a leaf that is neither.
    """
    vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
    tree = parse_tree(text).nodes
    if not tree:
        raise PipelineError("empty pipeline")
    own = set(template().names)
    for leaf in leaves(tree):
        if leaf.name in own:
            continue
        try:
            parse_pipeline(leaf.name, vocabulary)
        except PipelineError as err:
            raise PipelineError(f"{leaf.name!r} is not one of -Oz's passes, and {err}") from None
    return render(tree)


def validate_pass_list(text: str, vocabulary: Vocabulary | None = None) -> str:
    """Check a pass list as search, coresets and models write it: a flat list the
    vocabulary accepts, else an edited -Oz (:func:`validate_nested`). Returns the text,
    normalised.

    Raises:
        PipelineError: the flat list's error, when neither form is accepted.
    """
    vocabulary = vocabulary if vocabulary is not None else load_vocabulary()
    try:
        return validate(text, vocabulary).format()
    except PipelineError as flat:
        try:
            return validate_nested(text, vocabulary)
        except PipelineError:
            raise flat from None


@functools.cache
def template() -> OzTemplate:
    """The -Oz template of the installed LLVM."""
    return OzTemplate(parse_tree(oz_text()).nodes)
