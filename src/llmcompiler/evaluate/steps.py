"""Pipelines with llmcompiler's own steps: LLVM segments run by libLLVM, steps in between.

A step such as ``llmc-narrow`` is a module-level item written at the top level of
a pipeline: ``function(mem2reg),llmc-narrow,default<Oz>`` runs ``function(mem2reg)``
with :meth:`Module.run_passes`, then narrows integer operations in the module
(:func:`llmcompiler.analysis.narrow.apply_narrowing`), then runs ``default<Oz>``.
A pipeline without steps is handed to LLVM whole, exactly as written.
"""

from __future__ import annotations

from llmcompiler.analysis.narrow import apply_narrowing
from llmcompiler.errors import EvaluationError, PipelineError
from llmcompiler.llvm import Module, TargetMachine
from llmcompiler.passes import steps_in

NARROW = "llmc-narrow"
#: The steps this module runs, by name (the vocabulary lists the same names).
STEPS = (NARROW,)
_OPEN, _CLOSE = "(<", ")>"


class StepError(EvaluationError):
    """One of llmcompiler's own steps failed on a module (a bug in the step: report it)."""


def split_pipeline(text: str) -> list[str]:
    """Split pipeline text into LLVM segments and step names, in order.

    Top-level commas separate items (commas inside ``(...)`` and ``<...>`` do
    not); neighbouring LLVM items are joined back into one segment. Returns
    ``[text]`` when the text names no step ('' gives []).

    Raises:
        PipelineError: a step is nested inside an adaptor or given parameters,
            or an item is empty.
    """
    if not steps_in(text):
        return [text] if text.strip() else []
    items, depth, start = [], 0, 0
    for i, c in enumerate(text + ","):
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif c == "," and depth <= 0:
            items.append(text[start:i].strip())
            start = i + 1
    out: list[str] = []
    llvm: list[str] = []
    for item in items:
        if not item:
            raise PipelineError(f"invalid pipeline {text!r}: empty pass name")
        if item in STEPS:
            if llvm:
                out.append(",".join(llvm))
                llvm = []
            out.append(item)
            continue
        nested = steps_in(item)
        if nested:
            step = nested[0].split("<", 1)[0]
            if item.startswith(step):
                why = f"{step} takes no parameters"
            else:
                why = (
                    f"{step} is llmcompiler's own step and runs on the whole module: write it "
                    f"at the top level of the pipeline, not inside {item!r}"
                )
            raise PipelineError(f"invalid pipeline {text!r}: {why}")
        llvm.append(item)
    if llvm:
        out.append(",".join(llvm))
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
        else:
            module.run_passes(part, target)


def _narrow(module: Module) -> None:
    try:
        apply_narrowing(module)
    except Exception as err:  # noqa: BLE001 - any failure of the step is a failed evaluation
        raise StepError(f"{NARROW} failed: {type(err).__name__}: {err}") from None
