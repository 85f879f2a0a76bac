"""The ``hf`` back end: a Hugging Face causal LM checkpoint run with transformers.

A checkpoint is a local directory (``config.json``, the weights, the tokenizer files),
such as one written by ``llmc train`` or a downloaded copy of Meta's
``llm-compiler-7b-ftd``. Nothing is fetched from the hub: loading is
``local_files_only``.

Prompts are used as given: the tokenizer adds BOS, there is no chat template
(DESIGN.md, "The LLM Compiler prompt formats"). Prompts are generated one at a time,
so no padding ever enters a prompt; for throughput on a GPU prefer the ``vllm`` back
end (:mod:`llmcompiler.model.vllm_backend`).

torch and transformers are imported when a model is loaded, so ``import llmcompiler``
stays light; they come with ``pip install 'llmcompiler[model]'``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from pathlib import Path

from llmcompiler.errors import ModelError
from llmcompiler.model.base import GenerationConfig

INSTALL_HINT = "pip install 'llmcompiler[model]'"
#: Used when neither the model config nor the tokenizer states a context length.
DEFAULT_CONTEXT = 2048
#: A tokenizer's ``model_max_length`` above this means "not set" (transformers stores
#: a huge sentinel then).
_UNSET_LENGTH = 10_000_000


def import_torch_transformers():
    """Return ``(torch, transformers)``.

    Raises:
        ModelError: either is not installed.
    """
    try:
        import torch
        import transformers
    except ImportError as err:
        raise ModelError(
            f"the hf back end needs torch and transformers ({err.name} is missing): {INSTALL_HINT}"
        ) from None
    return torch, transformers


def resolve_device(torch, device: str | None) -> str:
    """``cpu`` or ``cuda``: ``None`` or ``auto`` picks CUDA when it is available.

    Raises:
        ModelError: an unknown device, or CUDA asked for and not available.
    """
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ModelError(f"device must be cpu, cuda or auto, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("device cuda was asked for, but torch sees no CUDA device")
    return device


def dtype_argument(transformers, dtype) -> dict:
    """The ``from_pretrained`` keyword for a dtype: ``dtype`` in transformers >= 4.56,
    ``torch_dtype`` before."""
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def check_checkpoint(path: str | os.PathLike) -> Path:
    """The checkpoint directory as a Path.

    Raises:
        ModelError: no such directory, or it holds no ``config.json``.
    """
    p = Path(path)
    if not p.is_dir():
        raise ModelError(f"{p}: no such checkpoint directory")
    if not (p / "config.json").is_file():
        raise ModelError(f"{p}: not a Hugging Face checkpoint (no config.json)")
    return p


class HFModel:
    """A :class:`~llmcompiler.model.base.TextModel` backed by transformers.

    Args:
        path: local checkpoint directory.
        device: "cpu", "cuda", or None to use CUDA when it is available. On CUDA the
            weights are loaded in bfloat16 (float16 where bfloat16 is unsupported), on
            the CPU in float32.

    Raises:
        ModelError: torch or transformers is missing, the directory is not a
            checkpoint, or its weights or tokenizer cannot be loaded (e.g. corrupt).
    """

    def __init__(self, path: str | os.PathLike, device: str | None = None) -> None:
        self.path = check_checkpoint(path)
        torch, transformers = import_torch_transformers()
        self._torch = torch
        self.device = resolve_device(torch, device)
        if self.device == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = torch.float32
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                self.path, local_files_only=True
            )
        except Exception as err:  # noqa: BLE001 - any loader failure is one message
            raise ModelError(f"{self.path}: cannot load the tokenizer: {first_line(err)}") from None
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                self.path, local_files_only=True, **dtype_argument(transformers, dtype)
            )
        except Exception as err:  # noqa: BLE001 - corrupt or missing weights, bad config
            raise ModelError(f"{self.path}: cannot load the model: {first_line(err)}") from None
        self.model = model.to(self.device).eval()
        self.name = f"hf:{self.path}"
        self.max_context = _context_length(self.model.config, self.tokenizer)
        # Prompts longer than the context are handled here (empty answers); stop the
        # tokenizer from warning about them.
        self.tokenizer.model_max_length = 10**30
        eos = self.tokenizer.eos_token_id
        if eos is None:
            eos = getattr(self.model.generation_config, "eos_token_id", None)
        pad = self.tokenizer.pad_token_id
        self._eos = eos
        self._pad = pad if pad is not None else (eos[0] if isinstance(eos, list) else eos)

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's tokenizer, without BOS."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[list[str]]:
        """``config.k`` answers per prompt: the text after the prompt, special tokens
        removed.

        Greedy decoding when ``k == 1`` and not ``sample``; beam search with ``k`` beams,
        returning all of them best first, when ``k > 1`` and not ``sample``; sampling
        with ``temperature`` and ``top_p`` (no top-k cut) otherwise, seeded with
        ``config.seed`` so that a call repeats. The answer is cut where prompt and
        answer would fill the context. A prompt that leaves no room for an answer
        (BOS + prompt >= ``max_context`` tokens) gets ``k`` empty answers; it is not an
        error.

        Raises:
            ModelError: the model was closed.
        """
        if self.model is None:
            raise ModelError(f"{self.name}: the model was closed")
        return [self._one(prompt, config) for prompt in prompts]

    def _one(self, prompt: str, config: GenerationConfig) -> list[str]:
        torch = self._torch
        encoded = self.tokenizer(prompt, return_tensors="pt")
        length = encoded["input_ids"].shape[1]
        room = min(config.max_new_tokens, self.max_context - length)
        if room <= 0:
            return [""] * config.k
        options = {
            "max_new_tokens": room,
            "num_return_sequences": config.k,
            "pad_token_id": self._pad,
        }
        if self._eos is not None:
            options["eos_token_id"] = self._eos
        if config.sample:
            options.update(
                do_sample=True, temperature=config.temperature, top_p=config.top_p, top_k=0
            )
        else:
            options.update(do_sample=False, num_beams=config.k)
        # Only ids and mask: some tokenizers add token_type_ids, which causal LMs refuse.
        inputs = {key: encoded[key].to(self.device) for key in ("input_ids", "attention_mask")}
        devices = [torch.cuda.current_device()] if self.device == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(config.seed)
            output = self.model.generate(**inputs, **options)
        return [self.tokenizer.decode(row[length:], skip_special_tokens=True) for row in output]

    def close(self) -> None:
        """Free the model (and its GPU memory). Later calls to generate raise."""
        if getattr(self, "model", None) is None:
            return
        self.model = None
        gc.collect()
        if self.device == "cuda":
            self._torch.cuda.empty_cache()

    def __enter__(self) -> HFModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _context_length(config, tokenizer) -> int:
    """Context from the model config (``max_position_embeddings``), else the tokenizer's
    ``model_max_length``, else :data:`DEFAULT_CONTEXT`."""
    length = getattr(config, "max_position_embeddings", None)
    if isinstance(length, int) and length > 0:
        return length
    length = getattr(tokenizer, "model_max_length", None)
    if isinstance(length, int) and 0 < length < _UNSET_LENGTH:
        return length
    return DEFAULT_CONTEXT


def first_line(err: BaseException) -> str:
    """Return the first line of an exception's message (its type name when it has
    none), cut at 300 characters: the detail of a one-line error."""
    text = str(err).strip().split("\n", 1)[0] or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."
