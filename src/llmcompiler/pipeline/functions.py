"""``llmc-functions<f;g>(function(...))``: a function pipeline run on some functions only.

llmcompiler's own pipeline step (opt-19 does not know it; ``llmc opt`` and ``llmc cc``
run it): the function pipeline inside runs on the named functions, and every other
function of the module is left exactly as it was. A module-wide list followed by such
steps is a pass list per function (:mod:`llmcompiler.search.per_function` finds them).

Names are written as the IR names them, without ``@``, separated by ``;``. Only names
of letters, digits, ``_``, ``.`` and ``$`` can be written (pipeline text cannot hold
``,``, ``(``, ``)``, ``<`` or ``>``): search leaves other functions to the module-wide
list. Inside the step only ``function(...)`` items may stand: a module or CGSCC pass
would run on every function, which is not what the step says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from llmcompiler.pipeline.tree import Node, Tree, render

FUNCTIONS = "llmc-functions"
_NAME = re.compile(r"[A-Za-z0-9_.$]+")
_USAGE = "write llmc-functions<f;g>(function(...))"


def writable(name: str) -> bool:
    """True when a function name can be written in an llmc-functions step."""
    return _NAME.fullmatch(name) is not None


def functions_step(names: Iterable[str], inner: str) -> str:
    """Pipeline text of one step: ``inner`` (``function(...)`` items) on ``names`` only.

    Raises:
        ValueError: no names, or a name that cannot be written (see :func:`writable`).
    """
    names = sorted(set(names))
    if not names:
        raise ValueError(f"{FUNCTIONS} needs at least one function name")
    bad = [n for n in names if not writable(n)]
    if bad:
        raise ValueError(f"{FUNCTIONS} cannot name function {bad[0]!r}")
    return f"{FUNCTIONS}<{';'.join(names)}>({inner})"


def function_step(tree: Tree, node: Node) -> tuple[frozenset[str], str]:
    """The names and the function pipeline text of an ``llmc-functions`` node.

    Raises:
        PipelineError: no names, a name that cannot be written, no pipeline, or an
            item inside that is not ``function(...)`` (the message names the offset).
    """
    if node.children is None or not node.children:
        raise tree.error(node.offset, f"{FUNCTIONS} needs a function pipeline: {_USAGE}")
    names = [n for n in node.params.split(";") if n]
    if not names:
        raise tree.error(node.offset, f"{FUNCTIONS} needs function names: {_USAGE}")
    for name in names:
        if not writable(name):
            raise tree.error(node.offset, f"{FUNCTIONS}: {name!r} is not a function name")
    for child in node.children:
        if child.base != "function" or child.children is None:
            raise tree.error(
                child.offset,
                f"only function(...) items can run inside {FUNCTIONS}, not {child.name!r}",
            )
    return frozenset(names), render(node.children)


def descendants(node: Node) -> Iterable[Node]:
    """Every node below ``node`` (adaptors and passes), depth first."""
    for child in node.children or ():
        yield child
        yield from descendants(child)
