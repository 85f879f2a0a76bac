"""The ``vllm`` back end: a Hugging Face checkpoint served by vLLM's offline engine.

Same interface and decoding rules as :class:`llmcompiler.model.hf.HFModel` (greedy for
k = 1, k beams for k > 1, seeded sampling on request; prompts tokenized here, BOS
added by the tokenizer, no chat template), but batched and paged on a GPU. vLLM is
imported when a model is loaded (``pip install vllm``; it brings its own torch build).
:func:`llmcompiler.model.loading.load_text_model` picks this back end when vLLM is
importable and CUDA is present, unless ``LLMC_BACKEND=hf``.

Not exercised by the test suite (it needs a GPU); written against vLLM's documented
offline API: ``LLM``, ``SamplingParams``, ``LLM.generate`` with token-id prompts,
``LLM.beam_search`` with ``BeamSearchParams``.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence

from llmcompiler.errors import ModelError
from llmcompiler.model.base import GenerationConfig
from llmcompiler.model.hf import DEFAULT_CONTEXT, check_checkpoint, first_line


class VLLMModel:
    """A :class:`~llmcompiler.model.base.TextModel` backed by ``vllm.LLM``.

    Args:
        path: local checkpoint directory.
        gpu_memory_utilization: share of GPU memory vLLM may take (weights + KV cache).

    Raises:
        ModelError: vLLM is not installed, the directory is not a checkpoint, or the
            engine cannot load it.
    """

    def __init__(self, path: str | os.PathLike, gpu_memory_utilization: float = 0.9) -> None:
        self.path = check_checkpoint(path)
        try:
            import vllm
        except ImportError:
            raise ModelError(
                "the vllm back end needs vLLM: pip install vllm (or set LLMC_BACKEND=hf "
                "to use transformers)"
            ) from None
        self._vllm = vllm
        context = _configured_context(self.path)
        try:
            self.llm = vllm.LLM(
                model=str(self.path),
                tokenizer=str(self.path),
                max_model_len=context,
                gpu_memory_utilization=gpu_memory_utilization,
            )
        except Exception as err:  # noqa: BLE001 - engine start-up failures are many
            why = first_line(err)
            raise ModelError(f"{self.path}: vLLM cannot load the model: {why}") from None
        self.tokenizer = self.llm.get_tokenizer()
        self.name = f"vllm:{self.path}"
        self.max_context = context

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's tokenizer, without BOS."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[list[str]]:
        """``config.k`` answers per prompt, as :meth:`HFModel.generate` describes; a
        prompt that leaves no room for an answer gets ``k`` empty answers.

        Raises:
            ModelError: the model was closed.
        """
        if self.llm is None:
            raise ModelError(f"{self.name}: the model was closed")
        encoded = [self.tokenizer(p)["input_ids"] for p in prompts]
        answers: list[list[str]] = [[""] * config.k for _ in prompts]
        todo = [i for i, ids in enumerate(encoded) if self.max_context - len(ids) > 0]
        if not todo:
            return answers
        if config.k > 1 and not config.sample:
            for i in todo:
                answers[i] = self._beams(encoded[i], config)
            return answers
        params = [self._sampling(config, self._room(encoded[i], config)) for i in todo]
        outputs = self.llm.generate(
            [{"prompt_token_ids": encoded[i]} for i in todo], params, use_tqdm=False
        )
        for i, output in zip(todo, outputs):
            texts = [completion.text for completion in output.outputs]
            answers[i] = (texts + [""] * config.k)[: config.k]
        return answers

    def _room(self, ids: list[int], config: GenerationConfig) -> int:
        return min(config.max_new_tokens, self.max_context - len(ids))

    def _sampling(self, config: GenerationConfig, room: int):
        if config.sample:
            return self._vllm.SamplingParams(
                n=config.k,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=config.seed,
                max_tokens=room,
                skip_special_tokens=True,
            )
        return self._vllm.SamplingParams(
            n=1, temperature=0.0, max_tokens=room, skip_special_tokens=True
        )

    def _beams(self, ids: list[int], config: GenerationConfig) -> list[str]:
        from vllm.sampling_params import BeamSearchParams

        params = BeamSearchParams(beam_width=config.k, max_tokens=self._room(ids, config))
        (output,) = self.llm.beam_search([{"prompt_token_ids": ids}], params)
        # Each sequence's tokens begin with the prompt; vLLM returns them best first.
        texts = [
            self.tokenizer.decode(seq.tokens[len(ids) :], skip_special_tokens=True)
            for seq in output.sequences
        ]
        return (texts + [""] * config.k)[: config.k]

    def close(self) -> None:
        """Free the engine and its GPU memory. Later calls to generate raise."""
        if getattr(self, "llm", None) is None:
            return
        self.llm = None
        gc.collect()
        try:
            import torch

            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - freeing is best effort
            pass

    def __enter__(self) -> VLLMModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _configured_context(path) -> int:
    """``max_position_embeddings`` from the checkpoint's config.json (the released
    models: 16384), else :data:`~llmcompiler.model.hf.DEFAULT_CONTEXT`."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"{path}: cannot read config.json: {err}") from None
    length = config.get("max_position_embeddings") if isinstance(config, dict) else None
    return length if isinstance(length, int) and length > 0 else DEFAULT_CONTEXT
