"""Compiler emulation records: given IR and a random pass list, the IR (or assembly) and
the numbers the compiler produces.

As in the LLM Compiler paper, each pass list is 1-50 passes drawn uniformly with
replacement from the pass vocabulary (here LLVM 19's, :func:`load_vocabulary`). The
lists of a module depend only on the seed and the module's hash, so they are the same
whatever the parallelism. A list that crashes LLVM, is rejected, times out or makes IR
the verifier rejects gives no record; it is counted by its status.

Every number and artifact is what the tools give for the IR *as text*: the input size is
llc-19's object for the input IR, the output IR is what ``opt-19 -passes=P -S`` prints,
and the output size and assembly are llc-19's for that text. (The evaluator's bitcode
carries no use-list order, which reads back as a parse of the text would; ``opt | llc``
through bitcode keeps opt's in-memory use-list order instead and can allocate registers
differently for the same IR. The text is what a record holds and a model sees, so it is
the reference.)
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from llmcompiler import prompts
from llmcompiler.datasets.measure import EXACT, ir_text, measure, pass_count, text
from llmcompiler.engine import Evaluator, Task
from llmcompiler.pipeline import Pipeline, load_vocabulary, random_pipeline
from llmcompiler.program import Program


@dataclass(frozen=True)
class EmulationConfig:
    """How emulation records are drawn.

    Attributes:
        lists_per_module: random pass lists per module; each gives one record per variant.
        min_passes: shortest list (the paper: 1).
        max_passes: longest list (the paper: 50).
        variants: "ir" (answer: the optimized IR) and/or "asm" (answer: llc-19's assembly).
        lists: fixed pass lists (``opt -passes=`` text) for every module instead of
            random ones, e.g. a coreset's; empty: random lists.
    """

    lists_per_module: int = 2
    min_passes: int = 1
    max_passes: int = 50
    variants: tuple[str, ...] = ("ir", "asm")
    lists: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.lists_per_module < 1:
            raise ValueError("lists_per_module must be at least 1")
        if not 1 <= self.min_passes <= self.max_passes:
            raise ValueError("need 1 <= min_passes <= max_passes")
        if not self.variants or any(v not in prompts.VARIANTS for v in self.variants):
            raise ValueError(f"variants must be a non-empty subset of {prompts.VARIANTS}")


def pass_lists(seed: int, digest: str, config: EmulationConfig) -> list[Pipeline]:
    """The module's random pass lists (deterministic for a seed and a module hash)."""
    key = hashlib.sha256(f"{seed}:{digest}:emulation".encode()).digest()
    rng = random.Random(int.from_bytes(key[:8], "big"))
    vocabulary = load_vocabulary()
    return [
        random_pipeline(rng, vocabulary, config.min_passes, config.max_passes)
        for _ in range(config.lists_per_module)
    ]


def emulation_records(
    evaluator: Evaluator, program: Program, seed: int, config: EmulationConfig
) -> tuple[list[dict], dict[str, int]]:
    """Records for one module, and the number of pass lists skipped per failure status.

    Record fields: ``index`` (list number), ``variant``, ``passes``, ``pass_count``,
    ``input_ir``, ``input_instcount``, ``input_size``, ``output`` (IR or assembly text),
    ``output_instcount``, ``output_size``, ``prompt``, ``completion``.

    Raises:
        ModuleError: the module as given cannot be measured.
    """
    given = measure(evaluator, program, "", "ir")
    input_ir = ir_text(given, program)
    if config.lists:
        lists = [(text, pass_count(text)) for text in config.lists]
    else:
        lists = [(p.format(), len(p)) for p in pass_lists(seed, program.hash, config)]
    tasks = [Task(program, p, EXACT, v) for p, _ in lists for v in config.variants]
    results = [None] * len(tasks)
    for index, result in evaluator.run(tasks):
        results[index] = result
    records, skipped = [], {}
    per_list = len(config.variants)
    for number, (passes, count) in enumerate(lists):
        mine = results[number * per_list : (number + 1) * per_list]
        bad = next((r for r in mine if not r.ok), None)
        if bad is not None:
            skipped[bad.status] = skipped.get(bad.status, 0) + 1
            continue
        for variant, result in zip(config.variants, mine):
            output = ir_text(result, program) if variant == "ir" else text(result)
            records.append(
                {
                    "index": number,
                    "variant": variant,
                    "passes": passes,
                    "pass_count": count,
                    "input_ir": input_ir,
                    "input_instcount": given.instcount,
                    "input_size": given.size,
                    "output": output,
                    "output_instcount": result.instcount,
                    "output_size": result.size,
                    "prompt": prompts.emulation_prompt(
                        variant, passes, input_ir, given.instcount, given.size
                    ),
                    "completion": prompts.emulation_answer(
                        variant, result.instcount, result.size, output
                    ),
                }
            )
    return records, skipped
