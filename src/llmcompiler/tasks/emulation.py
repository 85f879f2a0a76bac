"""Compiler emulation: a text model predicts what ``opt -p PIPELINE`` makes of some IR;
the prediction is set beside what the compiler really makes.

The reference is what the real tools give, as the emulation dataset defines it
(:mod:`llmcompiler.datasets.emulation`): the input IR is the module as libLLVM prints
it, the output IR is what ``opt-19 -passes=PIPELINE -S`` prints for that text, its
instruction count is counted in that text, and its binary size is text + data of the
object llc-19 (default settings) makes from it. Both texts name the module by the
program's file name in the ``; ModuleID`` comment, as the dataset's records do.

The model's answer gives a claimed instruction count, a claimed size and code
(:func:`llmcompiler.prompts.parse_answer`). It is scored by exact match and BLEU of the
code against the real output (both normalized, see
:mod:`llmcompiler.harness.metrics`), the error of the claimed size, and whether the
predicted IR compiles (parses and verifies with llvm-as-19 and goes through llc-19; its
real size is kept). The predicted IR is checked in those tools' processes only
(:func:`llmcompiler.tasks.disassembly.compile_ir`): IR that crashes LLVM fails the
answer, not the caller. The program and pipeline (:func:`reference`) are the user's
input and are read in this process.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from llmcompiler.errors import EvaluationError, PipelineError
from llmcompiler.llvm import Context, Module, berkeley_size
from llmcompiler.llvm.toolchain import count_text_instructions, llc_object, opt
from llmcompiler.model.base import MAX_ANSWER_CHARS, GenerationConfig, TextModel
from llmcompiler.pipeline import OZ, validate
from llmcompiler.program import Program, program_from_ir
from llmcompiler.prompts import VARIANTS, emulation_prompt, parse_answer
from llmcompiler.tasks.disassembly import LLC_TIMEOUT, compile_ir
from llmcompiler.tasks.metrics import exact_match, normalize, percent_error, sentence_bleu

#: Seconds opt-19 and llc-19 may take to make the reference output.
TOOL_TIMEOUT = 300.0
_MODULE_ID = re.compile(r"\A; ModuleID = '[^'\n]*'")


@dataclass(frozen=True)
class CompilerOutput:
    """Code and the numbers the compiler gives for it.

    Attributes:
        code: IR text (or assembly, for the "asm" variant).
        instcount: IR instructions in defined functions.
        size: binary size in bytes (text + data of llc-19's object).
    """

    code: str
    instcount: int
    size: int


@dataclass(frozen=True)
class Reference:
    """What a prompt shows and what the answer should be.

    Attributes:
        pipeline: the validated pass list, in ``opt -passes=`` syntax.
        input: the program's IR and its numbers (as the prompt shows them).
        output: the real result of the pass list.
    """

    pipeline: str
    input: CompilerOutput
    output: CompilerOutput

    def prompt(self) -> str:
        """The emulation prompt (IR variant) for this reference."""
        return emulation_prompt(
            "ir", self.pipeline, self.input.code, self.input.instcount, self.input.size
        )


def check_pipeline(text: str) -> str:
    """The pass list validated against the LLVM 19 vocabulary, in ``opt -passes=`` syntax.

    Raises:
        PipelineError: empty, malformed, or a pass that is unknown or not allowed.
    """
    if not text or not text.strip():
        raise PipelineError(f"the pass list is empty: give -p PIPELINE (e.g. '{OZ}')")
    return validate(text.strip()).format()


def reference(
    source: Program | str, pipeline: str, name: str = "input.ll", timeout: float = TOOL_TIMEOUT
) -> Reference:
    """The compiler's real input and output for ``pipeline`` on ``source``.

    ``source`` is a Program or IR text (named ``name``).

    Raises:
        PipelineError: the pass list is invalid, or opt-19 rejected it or crashed on it.
        InvalidIRError: IR text that does not parse or verify.
        EvaluationError: opt-19 timed out, or llc-19 failed on a module.
        LLVMNotFoundError: an LLVM 19 tool is missing.
    """
    passes = check_pipeline(pipeline)
    program = source if isinstance(source, Program) else program_from_ir(source.encode(), name)
    module_name = os.path.basename(program.name).replace("'", "")
    context = Context()
    try:
        with Module.parse(program.bitcode, module_name, context) as module:
            input_ir = _MODULE_ID.sub(f"; ModuleID = '{module_name}'", module.to_text(), count=1)
            input_count = module.instruction_count()
    finally:
        context.close()
    input_size = _size(program.bitcode, timeout)
    try:
        output = opt(input_ir.encode(), passes, text=True, timeout=timeout).decode()
    except subprocess.TimeoutExpired:
        raise EvaluationError(f"opt-19 -passes='{passes}' timed out after {timeout:g} s") from None
    except PipelineError as err:
        raise PipelineError(f"opt-19 -passes='{passes}' failed: {_first_lines(str(err))}") from None
    output = _MODULE_ID.sub(f"; ModuleID = '{module_name}'", output, count=1)
    return Reference(
        passes,
        CompilerOutput(input_ir, input_count, input_size),
        CompilerOutput(output, count_text_instructions(output), _size(output.encode(), timeout)),
    )


def _size(ir: bytes, timeout: float) -> int:
    try:
        return berkeley_size(llc_object(ir, timeout)).binary_size
    except subprocess.TimeoutExpired:
        raise EvaluationError(f"llc-19 timed out after {timeout:g} s") from None


def _first_lines(text: str, lines: int = 5) -> str:
    kept = text.strip().splitlines()[:lines]
    return "\n".join(kept) if kept else "no message"


@dataclass(frozen=True)
class EmulationResult:
    """A model's prediction beside the compiler's real output.

    Attributes:
        variant: "ir" (the answer is IR) or "asm" (assembly).
        real: the compiler's output and numbers.
        predicted_code: the answer's code block (None when it had none).
        predicted_instcount: the instruction count the answer claims.
        predicted_size: the binary size the answer claims.
        exact_match: the predicted code equals the real output (normalized).
        bleu: BLEU-4 of the predicted code against the real output (0.0 without code).
        compiles: the predicted IR parses, verifies and compiles with llc-19 (None for
            the asm variant, or when there is no code).
        compiled_size: binary size of the predicted IR as llc-19 compiles it.
        compile_error: why the predicted IR does not compile.
        error: what the answer lacks (no code, too long), or None.
    """

    variant: str
    real: CompilerOutput
    predicted_code: str | None
    predicted_instcount: int | None
    predicted_size: int | None
    exact_match: bool
    bleu: float
    compiles: bool | None
    compiled_size: int | None
    compile_error: str | None
    error: str | None

    @property
    def size_error(self) -> int | None:
        """Absolute error of the claimed size in bytes (None without a claim)."""
        if self.predicted_size is None:
            return None
        return abs(self.predicted_size - self.real.size)

    @property
    def size_error_pct(self) -> float | None:
        """Absolute error of the claimed size in percent of the real size."""
        if self.predicted_size is None:
            return None
        pct = percent_error(self.predicted_size, self.real.size)
        return None if pct is None else abs(pct)

    @property
    def instcount_error(self) -> int | None:
        """Absolute error of the claimed instruction count."""
        if self.predicted_instcount is None:
            return None
        return abs(self.predicted_instcount - self.real.instcount)

    def to_json(self, texts: bool = False) -> dict:
        """The scores as JSON; ``texts`` adds the predicted and the real code."""
        out = {
            "variant": self.variant,
            "predicted": {"instcount": self.predicted_instcount, "size": self.predicted_size},
            "real": {"instcount": self.real.instcount, "size": self.real.size},
            "exact_match": self.exact_match,
            "bleu": round(self.bleu, 6),
            "size_error": self.size_error,
            "size_error_pct": _rounded(self.size_error_pct),
            "instcount_error": self.instcount_error,
            "compiles": self.compiles,
            "compiled_size": self.compiled_size,
            "compile_error": self.compile_error,
            "error": self.error,
        }
        if texts:
            out["predicted_code"] = self.predicted_code
            out["real_code"] = self.real.code
        return out


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def score_answer(
    answer: str,
    real: CompilerOutput,
    variant: str = "ir",
    max_answer_chars: int = MAX_ANSWER_CHARS,
    timeout: float = LLC_TIMEOUT,
) -> EmulationResult:
    """Score one emulation answer against the real output. Never raises for a bad answer.

    The predicted IR is compiled by :func:`~llmcompiler.tasks.disassembly.compile_ir`
    (each tool gets ``timeout`` seconds); a crash or a timeout sets ``compiles`` False
    and says so in ``compile_error``.

    Raises:
        ValueError: unknown variant.
        LLVMNotFoundError: llvm-as-19 or llc-19 is not installed.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if not isinstance(answer, str):
        answer = ""
    if len(answer) > max_answer_chars:
        error = f"the answer is {len(answer)} characters, over the {max_answer_chars} limit"
        return EmulationResult(variant, real, None, None, None, False, 0.0, None, None, None, error)
    parsed = parse_answer(answer)
    if parsed.code is None:
        return EmulationResult(
            variant,
            real,
            None,
            parsed.instcount,
            parsed.size,
            False,
            0.0,
            None,
            None,
            None,
            "no <code> block in the answer",
        )
    kind = "ir" if variant == "ir" else "asm"
    compiles = compiled_size = compile_error = None
    if variant == "ir":
        compiled = compile_ir(parsed.code, "obj", timeout)
        compiles, compiled_size, compile_error = compiled.ok, compiled.size, compiled.error
    return EmulationResult(
        variant=variant,
        real=real,
        predicted_code=parsed.code,
        predicted_instcount=parsed.instcount,
        predicted_size=parsed.size,
        exact_match=exact_match(parsed.code, real.code, kind),
        bleu=sentence_bleu(normalize(parsed.code, kind), normalize(real.code, kind)),
        compiles=compiles,
        compiled_size=compiled_size,
        compile_error=compile_error,
        error=None,
    )


def ask(
    model: TextModel, ref: Reference, config: GenerationConfig | None = None
) -> EmulationResult:
    """Ask ``model`` the emulation prompt of ``ref`` and score its (first) answer.

    Decoding follows ``config`` (default greedy, one answer).

    Raises:
        ModelError, or whatever the back end raises: generation itself failed.
    """
    answers = model.generate([ref.prompt()], config or GenerationConfig())[0]
    return score_answer(answers[0] if answers else "", ref.output, "ir")


def emulate(
    model: TextModel,
    source: Program | str,
    pipeline: str,
    config: GenerationConfig | None = None,
    name: str = "input.ll",
) -> tuple[Reference, EmulationResult]:
    """Ask ``model`` what ``pipeline`` makes of ``source`` and score its answer.

    The pipeline is validated and the real output computed before the model is asked.
    Returns the reference and the score.

    Raises:
        PipelineError: the pass list is invalid, or opt-19 rejected it or crashed.
        InvalidIRError: IR text that does not parse or verify.
        EvaluationError: opt-19 or llc-19 failed on the module.
        ModelError, or whatever the back end raises: generation itself failed.
    """
    ref = reference(source, pipeline, name)
    return ref, ask(model, ref, config)
