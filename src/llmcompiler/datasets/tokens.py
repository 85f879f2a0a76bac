"""Counting tokens: a local estimate by default, or a Hugging Face tokenizer.

A tokenizer here is anything with ``count(text) -> int`` and ``describe() -> dict``
(the latter goes into the dataset manifest). Counts leave out special tokens; the
dataset builder adds :data:`SPECIAL_TOKENS` (BOS and EOS) to every record's total.
"""

from __future__ import annotations

import math
import os
import re
from typing import Protocol

from llmcompiler.errors import LLMCError

#: BOS before the prompt and EOS after the completion, counted in every record's budget.
SPECIAL_TOKENS = 2


class Tokenizer(Protocol):
    def count(self, text: str) -> int: ...

    def describe(self) -> dict: ...


# Pieces of the estimate: single digits (Llama-family tokenizers split numbers into
# digits), runs of letters, newlines, tabs, runs of two or more spaces, one space, and
# any other single character.
_PIECES = re.compile(r"\d|[A-Za-z_]+|\n|\t| {2,}| |[^\sA-Za-z_\d]")
_LETTERS_PER_TOKEN = 4
_SPACES_PER_TOKEN = 8


class EstimateTokenizer:
    """A deterministic estimate of what the LLM Compiler (Code Llama) tokenizer counts.

    Every digit, newline, tab and punctuation character is one token; a single space
    is free (SentencePiece joins it to the next word); a run of n > 1 spaces costs
    one token per started 8 after the first; a run of letters costs one token per
    started four letters.

    Calibration: on the project's six fixture C programs (IR as compiled, IR after
    -Oz, and llc-19's assembly: 18 texts) the LLaMA-2 tokenizer (32k SentencePiece
    vocabulary, which Code Llama and LLM Compiler extend only with special tokens;
    counted with llama-tokenizer-js 1.2.2) gives 1.9-2.3 characters per token on IR
    and 2.0-2.3 on assembly; this estimate is within 5 % of it on 17 of the 18 texts
    and 11 % under on the last (mean absolute error 2.6 %). Note that LLVM IR costs
    far more tokens than prose: a 16k context holds about 33 kB of IR.
    Use :class:`HFTokenizer` where exact counts matter.
    """

    name = "estimate-v1"

    def count(self, text: str) -> int:
        total = 0
        for piece in _PIECES.findall(text):
            first = piece[0]
            if first == " ":
                total += math.ceil((len(piece) - 1) / _SPACES_PER_TOKEN)
            elif first.isalpha() or first == "_":
                total += math.ceil(len(piece) / _LETTERS_PER_TOKEN)
            else:
                total += 1
        return total

    def describe(self) -> dict:
        return {"kind": "estimate", "name": self.name}


class HFTokenizer:
    """A Hugging Face tokenizer, loaded with ``transformers.AutoTokenizer``.

    ``name`` is a local directory (a saved tokenizer) or a hub name already in the
    local cache (or reachable when the machine is online).

    Raises:
        LLMCError: transformers is not installed, or the tokenizer cannot be loaded.
    """

    def __init__(self, name: str) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise LLMCError(
                "--tokenizer needs Hugging Face transformers: "
                "pip install 'llmcompiler[datasets]' (or pip install transformers)"
            ) from None
        self.name = name
        local = os.path.isdir(name)
        try:
            self._tok = AutoTokenizer.from_pretrained(name, local_files_only=local)
        except Exception as err:  # transformers raises OSError, ValueError and others
            where = "directory" if local else "name (not in the local cache, and offline?)"
            detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise LLMCError(f"cannot load tokenizer from {where} {name!r}: {detail}") from None

    def count(self, text: str) -> int:
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def describe(self) -> dict:
        return {"kind": "huggingface", "name": self.name, "class": type(self._tok).__name__}


def make_tokenizer(name: str | None) -> Tokenizer:
    """The estimate for None or "estimate", else a Hugging Face tokenizer by name or path.

    Raises:
        LLMCError: see :class:`HFTokenizer`.
    """
    if name is None or name == "estimate":
        return EstimateTokenizer()
    return HFTokenizer(name)
