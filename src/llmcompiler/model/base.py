"""What every model back end offers, and the pass-list candidates models propose.

Two kinds of model:

- a *text model* (the ``hf`` and ``vllm`` back ends): prompt strings in, generated text
  out. It serves all three LLM Compiler tasks through the prompt formats of
  :mod:`llmcompiler.prompts`.
- a *pass-list model* (the ``builtin`` model shipped with the package): reads a
  program's IR and proposes pass lists for it directly; flag tuning only.

Everything a model proposes is checked before it runs: a pass list is parsed and
validated against the LLVM 19 vocabulary (:func:`candidate_from_text`), and garbage
becomes an empty :class:`Candidate` with the reason, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from llmcompiler.errors import PipelineError
from llmcompiler.pipeline import Vocabulary, load_vocabulary
from llmcompiler.program import Program
from llmcompiler.prompts import parse_answer

#: Longest model answer that is parsed; the rest is ignored (a runaway generation
#: can be megabytes of repeated text).
MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class GenerationConfig:
    """How a text model generates.

    Attributes:
        k: answers per prompt.
        sample: False for greedy decoding (the released models' setting; with k > 1,
            beam search returns the k best beams), True for sampling.
        temperature: sampling temperature (sample=True only).
        top_p: nucleus sampling mass (sample=True only).
        max_new_tokens: longest answer, in tokens.
        seed: seed for sampling, so that runs repeat.

    Raises (on creation):
        ValueError: k below 1.
    """

    k: int = 1
    sample: bool = False
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 2048
    seed: int = 0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")


@runtime_checkable
class TextModel(Protocol):
    """A language model behind the LLM Compiler prompt formats."""

    name: str  # what to show in reports: the back end and the checkpoint
    max_context: int  # tokens the model can attend to (prompt + answer)

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[list[str]]:
        """Return ``config.k`` answers (the text after the prompt) for each prompt."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's tokenizer (without BOS)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Candidate:
    """One pass list a model proposed.

    Attributes:
        pipeline: the validated pipeline in ``opt -passes=`` syntax, or None when the
            answer held no usable pass list.
        error: why there is no pipeline (None when there is one).
        predicted_size: the binary size the model claimed, if it said one.
        score: the model's own preference (higher is better), if it gives one.
    """

    pipeline: str | None
    error: str | None = None
    predicted_size: int | None = None
    score: float | None = None


def candidate_from_text(answer: str, vocabulary: Vocabulary | None = None) -> Candidate:
    """Read and validate the pass list in a model's flag-tuning answer.

    Accepts the answer forms of :func:`llmcompiler.prompts.parse_answer`, and a bare
    pass list on the answer's first line. Returns an empty Candidate (``pipeline``
    None) with the reason when there is no valid pass list. Never raises.
    """
    text = answer[:MAX_ANSWER_CHARS]
    parsed = parse_answer(text)
    passes = parsed.passes
    if passes is None:
        first = text.strip().split("\n", 1)[0].strip().strip("'\"`")
        if first and " " not in first and "<code>" not in first:
            passes = first
    if not passes:
        return Candidate(None, "no pass list in the answer", parsed.size)
    return candidate_from_pipeline(passes, vocabulary, predicted_size=parsed.size)


def candidate_from_pipeline(
    text: str,
    vocabulary: Vocabulary | None = None,
    predicted_size: int | None = None,
    score: float | None = None,
) -> Candidate:
    """Validate a pass list; an invalid one gives an empty Candidate. Never raises.

    A flat list must pass the vocabulary; a list that nests -Oz's own expansion (an
    edited -Oz, as search writes it) may also hold -Oz's bookkeeping passes
    (:func:`llmcompiler.pipeline.oz.validate_pass_list`).
    """
    from llmcompiler.pipeline.oz import validate_pass_list

    vocabulary = vocabulary or load_vocabulary()
    try:
        return Candidate(validate_pass_list(text, vocabulary), None, predicted_size, score)
    except PipelineError as err:
        return Candidate(None, _short(f"invalid pass list: {err}"), predicted_size, score)
    except Exception as err:  # noqa: BLE001 - model output must never crash the caller
        return Candidate(None, _short(f"invalid pass list: {type(err).__name__}: {err}"))


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


class PassListModel(Protocol):
    """Anything that proposes pass lists for a program (flag tuning)."""

    name: str

    def propose(self, program: Program, k: int) -> list[Candidate]:
        """Up to ``k`` candidates for ``program``, the model's favourite first."""
        ...

    def close(self) -> None: ...
