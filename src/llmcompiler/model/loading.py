"""``--model builtin|PATH``: one place that turns the user's model choice into a back end.

- ``builtin``: the ranker shipped inside the package (:mod:`llmcompiler.model.builtin`).
- a directory holding ``llmc_ranker.json``: a ranker made by ``llmc ranker fit``.
- a directory holding a Hugging Face checkpoint (``config.json``): a text model, served
  by vLLM when it is installed and a GPU is present (``LLMC_BACKEND=hf`` forces
  transformers), else by transformers (:mod:`llmcompiler.model.hf`).
"""

from __future__ import annotations

import os
from pathlib import Path

from llmcompiler.errors import ModelError
from llmcompiler.model.base import GenerationConfig, PassListModel, TextModel
from llmcompiler.model.ranker import META_FILE

BUILTIN = "builtin"


def load_pass_list_model(
    spec: str, device: str | None = None, objective: str = "size"
) -> PassListModel:
    """A model that proposes pass lists (flag tuning) for ``spec``; for ``builtin``, the
    one learned for ``objective`` where there is one.

    Raises:
        ModelError: no such model, or it cannot be loaded.
    """
    if spec == BUILTIN:
        from llmcompiler.model.builtin import load_builtin

        return load_builtin(objective)
    path = _existing(spec)
    if (path / META_FILE).is_file():
        from llmcompiler.model.builtin import load_ranker

        return load_ranker(path)
    from llmcompiler.model.flag_tuning import TextFlagTuner

    return TextFlagTuner(load_text_model(spec, device))


def load_text_model(spec: str, device: str | None = None) -> TextModel:
    """A text model (Hugging Face checkpoint directory) for ``spec``.

    Raises:
        ModelError: ``builtin`` (it is not a text model), no such directory, not a
            checkpoint, or the back end's libraries are missing.
    """
    if spec == BUILTIN:
        raise ModelError(
            "the built-in model proposes pass lists only; emulation and disassembly need a "
            "text model: give --model PATH to a Hugging Face checkpoint (one made by "
            "llmc train, or Meta's llm-compiler-7b-ftd)"
        )
    path = _existing(spec)
    if (path / META_FILE).is_file():
        raise ModelError(f"{path}: a ranker proposes pass lists only; it is not a text model")
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{path}: not a Hugging Face checkpoint (no config.json) and not a ranker "
            f"(no {META_FILE})"
        )
    backend = os.environ.get("LLMC_BACKEND", "auto")
    if backend not in ("auto", "hf", "vllm"):
        raise ModelError(f"LLMC_BACKEND must be auto, hf or vllm, not {backend!r}")
    if backend == "vllm" or (backend == "auto" and _vllm_usable(device)):
        from llmcompiler.model.vllm_backend import VLLMModel

        return VLLMModel(path)
    from llmcompiler.model.hf import HFModel

    return HFModel(path, device=device)


def _existing(spec: str) -> Path:
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelError(f"{spec}: no such model (give 'builtin' or a model directory)")
    if not path.is_dir():
        raise ModelError(f"{spec}: a model is a directory, not a file")
    return path


def _vllm_usable(device: str | None) -> bool:
    """vLLM is used when it is importable and CUDA is there (and not refused)."""
    if device == "cpu":
        return False
    try:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            return False
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken install means: do not use it
        return False


__all__ = ["BUILTIN", "GenerationConfig", "load_pass_list_model", "load_text_model"]
