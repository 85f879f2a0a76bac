"""Disassembly records: given x86-64 assembly, the LLVM IR it was compiled from.

The target IR is the module after ``default<Oz>``, as ``opt-19 -S`` prints it. The
assembly is exactly what ``llc-19`` (default settings: O2 code generation, AT&T
syntax, the same directives as clang's ``-S`` output) prints for that IR text, nothing
stripped; so a perfect answer, compiled by llc-19, gives the prompt's assembly back.
(Piping opt's bitcode into llc keeps opt's in-memory use-list order and can allocate
registers differently for the same IR; the text is the reference.)

The optimized IR is the target, not the IR as compiled: assembly reflects the
optimized code, and the allocas, loads and stores of unoptimized IR cannot be
recovered from it (the LLM Compiler paper's disassembly task also pairs assembly with
the IR it was generated from). A model is judged by round trip: its IR, compiled by
llc-19, should give the same assembly.
"""

from __future__ import annotations

from llmcompiler import prompts
from llmcompiler.datasets.measure import ir_text, measure, text
from llmcompiler.engine import Evaluator
from llmcompiler.pipeline import OZ
from llmcompiler.program import Program

#: The pipeline whose output is both the assembly's source and the target IR.
TARGET_PIPELINE = OZ
#: Written into the dataset manifest.
TARGET = {
    "ir": "optimized",
    "pipeline": TARGET_PIPELINE,
    "assembly": "llc-19 (default settings: O2, AT&T syntax) on the target IR as printed",
    "why": (
        "the assembly is generated from the optimized module, so that module is the IR "
        "it encodes; the allocas, loads and stores of unoptimized IR are not recoverable "
        "from assembly. A prediction is checked by round trip: llc-19 on the predicted IR "
        "should give the same assembly."
    ),
}


def disassembly_records(evaluator: Evaluator, program: Program) -> list[dict]:
    """The module's record (a list of one).

    Record fields: ``index`` (0), ``asm``, ``ir`` (the target), ``ir_pipeline``,
    ``instcount`` and ``size`` (of the target IR), ``prompt``, ``completion``.

    Raises:
        ModuleError: -Oz or code generation fails on the module.
    """
    asm = measure(evaluator, program, TARGET_PIPELINE, "asm")
    ir = measure(evaluator, program, TARGET_PIPELINE, "ir")
    asm_text, target = text(asm), ir_text(ir, program)
    return [
        {
            "index": 0,
            "asm": asm_text,
            "ir": target,
            "ir_pipeline": TARGET_PIPELINE,
            "instcount": ir.instcount,
            "size": ir.size,
            "prompt": prompts.disassembly_prompt(asm_text),
            "completion": prompts.disassembly_answer(target),
        }
    ]
