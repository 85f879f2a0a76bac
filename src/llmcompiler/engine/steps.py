"""Pipelines with llmcompiler's own steps: LLVM segments run by libLLVM, steps in between.

A step such as ``llmc-narrow`` is a module-level item written at the top level of
a pipeline: ``function(mem2reg),llmc-narrow,default<Oz>`` runs ``function(mem2reg)``
with :meth:`Module.run_passes`, then narrows integer operations in the module
(:func:`llmcompiler.analysis.narrow.apply_narrowing`), then runs ``default<Oz>``.
``llmc-functions<f;g>(function(gvn))`` runs the function pipeline inside on the
functions ``f`` and ``g`` only (a pass list per function: :mod:`llmcompiler.search.
per_function`); every other function is left as it is.
A pipeline without steps is handed to LLVM whole, exactly as written.
"""

from __future__ import annotations

from llmcompiler.analysis.narrow import apply_narrowing
from llmcompiler.errors import EvaluationError
from llmcompiler.llvm import Module, TargetMachine
from llmcompiler.pipeline.functions import FUNCTIONS, descendants, function_step
from llmcompiler.pipeline.tree import Node, parse_tree, render
from llmcompiler.pipeline.vocabulary import nested_step

NARROW = "llmc-narrow"
#: The steps this module runs, by name (the vocabulary lists the same names).
STEPS = (NARROW, FUNCTIONS)

#: One part of a split pipeline: LLVM text, a step's name, or (names, function
#: pipeline) for llmc-functions.
Part = str | tuple[frozenset[str], str]


class StepError(EvaluationError):
    """One of llmcompiler's own steps failed on a module (a bug in the step: report it)."""


def split_pipeline(text: str) -> list[Part]:
    """Split pipeline text into LLVM segments, step names and llmc-functions steps
    (``(names, function pipeline)``), in order.

    Neighbouring top-level LLVM items are joined back into one segment. Returns
    ``[text]`` when the text names no step ('' gives []): such text goes to LLVM
    exactly as written, and LLVM judges it.

    Raises:
        PipelineError: malformed text, or a step nested inside an adaptor or given
            parameters.
    """
    if not any(step in text for step in STEPS):
        return [text] if text.strip() else []
    tree = parse_tree(text)
    out: list[Part] = []
    llvm: list[Node] = []
    for node in tree.nodes:
        for inner in descendants(node):
            if inner.base in STEPS:
                why = (
                    f"{inner.base} takes no parameters"
                    if inner.base == NARROW and inner.name != NARROW
                    else nested_step(inner.base)
                )
                raise tree.error(inner.offset, why)
        if node.base not in STEPS:
            llvm.append(node)
            continue
        if llvm:
            out.append(render(tuple(llvm)))
            llvm = []
        if node.base == FUNCTIONS:
            out.append(function_step(tree, node))
        elif node.name != NARROW or node.children is not None:
            raise tree.error(node.offset, f"{node.base} takes no parameters")
        else:
            out.append(NARROW)
    if llvm:
        out.append(render(tuple(llvm)))
    return out


def run_pipeline(module: Module, text: str, target: TargetMachine | None = None) -> None:
    """Run pipeline text on ``module`` in place: LLVM segments and llmcompiler steps.

    The module is verified before each step (a step needs valid IR to analyze).

    Raises:
        PipelineError: LLVM rejected a segment, or a step is misplaced.
        InvalidIRError: an LLVM segment left IR that fails the verifier.
        StepError: a step itself failed (its own error, in words).
    """
    for part in split_pipeline(text):
        if part == NARROW:
            module.verify()
            _narrow(module)
        elif isinstance(part, tuple):
            module.run_passes_on(part[0], part[1], target)
        else:
            module.run_passes(part, target)


def _narrow(module: Module) -> None:
    try:
        apply_narrowing(module)
    except Exception as err:  # noqa: BLE001 - any failure of the step is a failed evaluation
        raise StepError(f"{NARROW} failed: {type(err).__name__}: {err}") from None
