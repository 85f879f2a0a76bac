"""Flag tuning with a text model: the LLM Compiler flag-tuning prompt in, pass lists out.

:class:`TextFlagTuner` turns any :class:`~llmcompiler.model.base.TextModel` (a
checkpoint made by ``llmc train``, or Meta's ``llm-compiler-*-ftd``) into a
:class:`~llmcompiler.model.base.PassListModel`: it shows the model the program's IR in
the flag-tuning prompt, decodes greedily (k = 1) or with k beams, and validates the
pass list of every answer. The IR is the program's module printed as text, with the
``; ModuleID`` comment naming the program's file, as the dataset builder writes it
(:func:`llmcompiler.datasets.measure.ir_text`), so that prompts here match training.
"""

from __future__ import annotations

import os

from llmcompiler.llvm import Module
from llmcompiler.model.base import (
    Candidate,
    GenerationConfig,
    TextModel,
    candidate_from_text,
)
from llmcompiler.pipeline import Vocabulary, load_vocabulary
from llmcompiler.program import Program
from llmcompiler.prompts import flag_tuning_prompt, name_module

#: Tokens an answer may take. The pass list and the claimed size come first in an
#: answer; the optimized IR after them is not needed here, so generation stops early.
DEFAULT_MAX_NEW_TOKENS = 512


def program_ir(program: Program) -> str:
    """The program's IR as text, its ``; ModuleID`` naming the program's file.

    Raises:
        InvalidIRError: the bitcode does not parse (a Program's bitcode always does).
    """
    with Module.parse(program.bitcode, os.path.basename(program.name)) as module:
        return name_module(module.to_text(), program.name)


class TextFlagTuner:
    """A pass-list model made of a text model and the flag-tuning prompt.

    Args:
        model: the text model; closing the tuner closes it.
        max_new_tokens: longest answer, in tokens.
        vocabulary: pass vocabulary to validate against (default: LLVM 19's).
    """

    def __init__(
        self,
        model: TextModel,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.vocabulary = vocabulary
        self.name = f"{model.name} (flag-tuning prompt)"

    def propose(self, program: Program, k: int) -> list[Candidate]:
        """Up to ``k`` candidates for ``program``, the model's favourite first.

        One candidate per distinct answer: valid pass lists, de-duplicated, and empty
        candidates (``pipeline`` None) with the reason for answers that held no valid
        list. A prompt that does not fit the model's context gives one empty candidate
        whose reason says ``prompt too long for the model's context (N tokens > M)``,
        N counting BOS, the prompt and one answer token. Model output never raises.

        Raises:
            ModelError: the model cannot generate (e.g. it was closed).
        """
        if k < 1:
            return []
        prompt = flag_tuning_prompt(program_ir(program))
        needed = self.model.count_tokens(prompt) + 2
        if needed > self.model.max_context:
            reason = (
                f"prompt too long for the model's context "
                f"({needed} tokens > {self.model.max_context})"
            )
            return [Candidate(None, reason)]
        config = GenerationConfig(k=k, sample=False, max_new_tokens=self.max_new_tokens)
        (answers,) = self.model.generate([prompt], config)
        vocabulary = self.vocabulary or load_vocabulary()
        out: list[Candidate] = []
        seen: set[tuple[str | None, str | None]] = set()
        for answer in answers:
            candidate = candidate_from_text(answer, vocabulary)
            key = (candidate.pipeline, None if candidate.pipeline else candidate.error)
            if key not in seen:
                seen.add(key)
                out.append(candidate)
        return out[:k]

    def close(self) -> None:
        """Close the text model."""
        self.model.close()

    def __enter__(self) -> TextFlagTuner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
