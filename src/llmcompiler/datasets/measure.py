"""What every task generator needs: exact measurements through the Evaluator, and the
error that fails one module (and only that module) of a dataset build."""

from __future__ import annotations

from llmcompiler.engine import EvalResult, Evaluator, Objective
from llmcompiler.errors import LLMCError, PipelineError
from llmcompiler.pipeline import parse_pipeline
from llmcompiler.program import Program
from llmcompiler.prompts import name_module

#: Every number in a dataset: instruction count from the IR, binary size of the object
#: that llc-19 makes (default settings, O2), measured by llvm-size's Berkeley rules.
EXACT = Objective(metric="size", size_path="llc")


class ModuleError(LLMCError):
    """One module could not give records (it is counted as failed; the build goes on)."""


def measure(
    evaluator: Evaluator, program: Program, pipeline: str, output: str | None
) -> EvalResult:
    """Run ``pipeline`` on ``program``; return the ok result (with the ``output`` artifact).

    Raises:
        ModuleError: the evaluation failed (LLVM's message included).
    """
    result = evaluator.evaluate(program, pipeline, EXACT, output=output)
    if not result.ok:
        what = f"pipeline {pipeline!r}" if pipeline else "the module as given"
        raise ModuleError(f"{what}: {result.status}: {result.error}")
    return result


def text(result: EvalResult) -> str:
    """The result's assembly (or any) artifact as text."""
    return (result.output or b"").decode()


def ir_text(result: EvalResult, program: Program) -> str:
    """The result's IR as text, its ``; ModuleID`` comment naming the program's file.

    Evaluation workers name modules by hash; a hash in every prompt and answer would be
    noise a model has to copy, so the comment gets the base name of the program (for a
    corpus module, of its id), as clang's output names the source file. Nothing else of
    the IR is touched.
    """
    return name_module(text(result), program.name)


def pass_count(pipeline: str) -> int:
    """Passes in a pipeline once flattened (``default<Oz>`` counts as one; 0 if malformed)."""
    try:
        return len(parse_pipeline(pipeline))
    except PipelineError:
        return 0
