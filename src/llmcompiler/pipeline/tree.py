"""THE reader and printer of ``opt -passes=`` text: a tree of passes and adaptors.

Every part of llmcompiler that reads pipeline text goes through :func:`parse_tree`:
the flat pass lists of search (:mod:`.flat`), the -Oz template (:mod:`.oz`), the
split into LLVM segments and llmcompiler's own steps (:mod:`.steps`) and the check
of a model's answer. :func:`render` is the one printer.

Like LLVM, a pass name runs to the next ``,``, ``(`` or ``)``, so parameters never
hold those characters; whitespace is ignored everywhere. The tree is syntax only:
which names are adaptors, which levels nest in which, and which passes exist is
decided by the readers of the tree, which report errors through :meth:`Tree.error`
so that every message names its offset in the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmcompiler.errors import PipelineError

_BASE = re.compile(r"[A-Za-z0-9_.\-]+")
_PASS_NAME = re.compile(r"[A-Za-z0-9_.\-]+(<[^<>]*>)*")
_NAME_RUN = re.compile(r"[^,()]*")  # a name runs to the next ',', '(' or ')'
_SPACE = re.compile(r"\s")
MAX_NESTING = 64


@dataclass(frozen=True)
class Node:
    """One item of a pipeline: a pass (``children`` None) or an adaptor with children.

    ``name`` is the full text, parameters included (``simplifycfg<keep-loops>``);
    ``offset`` is where it starts in the text without whitespace (for messages).
    """

    name: str
    children: tuple[Node, ...] | None = None
    offset: int = field(default=0, compare=False)

    @property
    def base(self) -> str:
        """The name without ``<parameters>``: ``sroa<modify-cfg>`` -> ``sroa``."""
        return self.name.split("<", 1)[0]

    @property
    def params(self) -> str:
        """The text between the outer ``<`` and ``>`` ('' without parameters)."""
        _, _, params = self.name.partition("<")
        return params[:-1] if params else ""


@dataclass(frozen=True)
class Tree:
    """Parsed pipeline text: the top-level nodes and the text they came from."""

    text: str
    nodes: tuple[Node, ...]
    where: tuple[int, ...] = field(repr=False, compare=False, default=())

    def error(self, offset: int, message: str) -> PipelineError:
        """A PipelineError for ``message`` at ``offset`` (in the text without whitespace),
        quoting at most 80 characters of the original text around it."""
        return _error(self.text, self.where, offset, message)


def _error(original: str, where: tuple[int, ...], pos: int, message: str) -> PipelineError:
    offset = where[pos] if pos < len(where) else len(original)
    shown = original
    if len(shown) > 80:  # show 80 characters around the offset
        start = min(max(0, offset - 40), len(shown) - 80)
        end = start + 80
        shown = ("..." if start else "") + shown[start:end] + ("..." if end < len(shown) else "")
    return PipelineError(f"invalid pipeline {shown!r}: {message} at offset {offset}")


class _Parser:
    """Recursive descent over the text without whitespace."""

    def __init__(self, text: str) -> None:
        self.original = text
        if _SPACE.search(text):
            self.where = tuple(i for i, c in enumerate(text) if not c.isspace())
            self.text = "".join(text[i] for i in self.where)
        else:  # the usual case, and the one worth being fast for
            self.where, self.text = tuple(range(len(text))), text
        self.pos = self.depth = 0

    def error(self, message: str, pos: int | None = None) -> PipelineError:
        return _error(self.original, self.where, self.pos if pos is None else pos, message)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> tuple[Node, ...]:
        if not self.text:
            return ()
        nodes = self.sequence()
        if self.peek() == ")":
            raise self.error("unbalanced ')'")
        return nodes

    def sequence(self) -> tuple[Node, ...]:
        nodes = [self.element()]
        while self.peek() == ",":
            self.pos += 1
            nodes.append(self.element())
        if self.peek() not in ("", ")"):
            raise self.error(f"expected ',' or ')' but found {self.peek()!r}")
        return tuple(nodes)

    def element(self) -> Node:
        start = self.pos
        self.pos = _NAME_RUN.match(self.text, start).end()
        name = self.text[start : self.pos]
        if not name:
            raise self.error("empty pass name")
        if not _PASS_NAME.fullmatch(name):
            params = _BASE.fullmatch(name.split("<", 1)[0]) and "<" in name
            bad = "unbalanced '<' or '>' in" if params else "invalid pass name"
            raise self.error(f"{bad} {name!r}", start)
        if self.peek() != "(":
            return Node(name, None, start)
        if self.depth == MAX_NESTING:
            raise self.error(f"adaptors nested more than {MAX_NESTING} deep")
        self.pos += 1
        self.depth += 1
        children = self.sequence()
        self.depth -= 1
        if self.peek() != ")":
            raise self.error("missing ')'")
        self.pos += 1
        return Node(name, children, start)


def parse_tree(text: str) -> Tree:
    """Parse pipeline text into its tree ('' or only whitespace gives no nodes).

    Raises:
        PipelineError: malformed text: an empty or invalid name, unbalanced ``<>``
            or parentheses, adaptors nested more than 64 deep. The message quotes
            the text and names the offset.
    """
    parser = _Parser(text)
    return Tree(text, parser.parse(), parser.where)


def leaves(nodes: tuple[Node, ...]) -> list[Node]:
    """The passes of a tree in order (the indices that edits refer to)."""
    out: list[Node] = []
    for node in nodes:
        out.extend([node] if node.children is None else leaves(node.children))
    return out


def render(nodes: tuple[Node, ...], edits: dict[int, str | None] | None = None) -> str:
    """Pipeline text of ``nodes``, with leaf ``i`` replaced by ``edits[i]`` (None:
    removed); adaptors left empty are dropped. Without edits: the canonical text."""
    counter = [0]
    edits = edits or {}

    def one(node: Node) -> str | None:
        if node.children is None:
            index = counter[0]
            counter[0] += 1
            return edits.get(index, node.name)
        inner = [t for c in node.children if (t := one(c)) is not None]
        return f"{node.name}({','.join(inner)})" if inner else None

    return ",".join(t for n in nodes if (t := one(n)) is not None)
