"""The settings of ``llmc train``: a frozen dataclass read from a TOML or JSON file.

The file holds flat ``key = value`` pairs named as the fields of :class:`TrainConfig`;
keys left out keep their defaults. An example (TOML)::

    layers = 2
    hidden_size = 128
    context_length = 1024
    lr = 1e-3
    max_steps = 200
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from llmcompiler.errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs besides the data and the starting checkpoint."""

    # -- the fresh model (no --init): a small Llama; ignored with --init ---------------
    vocab_size: int = 8192  # BPE tokenizer size: 256 bytes, 3 special tokens, merges
    layers: int = 8  # transformer blocks
    heads: int = 8  # attention heads (hidden_size must be a multiple)
    kv_heads: int = 0  # key/value heads for grouped-query attention; 0: same as heads
    hidden_size: int = 512  # width of the residual stream
    intermediate_size: int = 0  # MLP width; 0: 4 * hidden_size
    tie_embeddings: bool = True  # share input embedding and output head (fewer weights)
    dropout: float = 0.0  # attention dropout; 0 suits one pass over much data
    # tokens per example (BOS + prompt + completion + EOS); longer records are dropped.
    # Also the fresh model's context; with --init, capped at the checkpoint's context.
    context_length: int = 2048
    # -- optimizer: AdamW, linear warmup then cosine decay -----------------------------
    lr: float = 3e-4  # peak learning rate (for LoRA, 1e-4 to 3e-4 is usual; full 7B: 1e-5)
    min_lr: float = 3e-5  # learning rate at the last step (cosine floor)
    warmup_steps: int = 100  # steps of linear warmup from ~0 to lr
    weight_decay: float = 0.1  # on weight matrices only, not norms or biases
    beta1: float = 0.9  # AdamW first-moment decay
    beta2: float = 0.95  # AdamW second-moment decay
    grad_clip: float = 1.0  # clip the global gradient norm to this; 0: no clipping
    # -- batches and length of training ---------------------------------------------
    batch_size: int = 8  # examples per micro-batch (padded to the longest)
    grad_accum: int = 1  # micro-batches per optimizer step (effective batch: product)
    epochs: int = 1  # passes over the train split (when max_steps is 0)
    max_steps: int = 0  # optimizer steps; when > 0 it replaces epochs (data cycles)
    eval_interval: int = 200  # validation loss every this many steps (and at the end)
    eval_batches: int = 0  # validation batches per measurement; 0: the whole split
    # -- where and how -------------------------------------------------------------------
    seed: int = 0  # model initialization and data order
    device: str = "auto"  # "cpu", "cuda" or "auto" (CUDA when available)
    dtype: str = "auto"  # "float32", "bfloat16" (autocast) or "auto" (bf16 on CUDA)
    gradient_checkpointing: bool = False  # recompute activations: less memory, ~30 % slower
    # -- LoRA (--lora with --init) ------------------------------------------------------
    lora_rank: int = 16  # rank of each adapter
    lora_alpha: int = 32  # adapter scale numerator (scale = alpha / rank)
    lora_dropout: float = 0.05  # dropout on the adapter input
    # modules that get adapters (Llama attention projections)
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __post_init__(self) -> None:
        bounds = (
            (
                1,
                "must be at least 1",
                "vocab_size layers heads hidden_size context_length batch_size grad_accum "
                "epochs eval_interval lora_rank",
            ),
            (
                0,
                "must not be negative",
                "kv_heads intermediate_size warmup_steps max_steps eval_batches "
                "weight_decay grad_clip min_lr",
            ),
        )
        for lowest, rule, names in bounds:
            for name in names.split():
                if getattr(self, name) < lowest:
                    raise ValueError(f"{name} {rule}, not {getattr(self, name)}")
        if self.vocab_size < 300:
            raise ValueError(
                f"vocab_size must be at least 300 (256 bytes + special), not {self.vocab_size}"
            )
        if self.hidden_size % self.heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of heads {self.heads}"
            )
        if self.kv_heads and self.heads % self.kv_heads:
            raise ValueError(f"heads {self.heads} is not a multiple of kv_heads {self.kv_heads}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, not {self.lr}")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr {self.min_lr} is above lr {self.lr}")
        for name in ("beta1", "beta2", "dropout", "lora_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), not {getattr(self, name)}")
        if self.lora_alpha <= 0:
            raise ValueError(f"lora_alpha must be positive, not {self.lora_alpha}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"dtype must be auto, float32 or bfloat16, not {self.dtype!r}")
        if not self.lora_targets:
            raise ValueError("lora_targets must name at least one module")


def config_from_dict(values: dict, source: str = "config") -> TrainConfig:
    """A TrainConfig from ``values``; missing keys keep their defaults.

    Raises:
        InputError: an unknown key (named, with the closest known one), a value of the
            wrong type, or a value out of range; the message begins with ``source``.
    """
    known = {f.name: f for f in fields(TrainConfig)}
    checked = {}
    for key, value in values.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"{source}: unknown config key '{key}'{hint}")
        checked[key] = _typed(key, value, known[key].default, source)
    try:
        return TrainConfig(**checked)
    except ValueError as err:
        raise InputError(f"{source}: {err}") from None


def _typed(key: str, value, default, source: str):
    """``value`` checked against the type of the field's default."""
    if default is MISSING:  # pragma: no cover - every field has a default
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        want = "true or false"
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "an integer"
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
        want = "a number"
    elif isinstance(default, str):
        ok = isinstance(value, str)
        want = "a string"
    else:  # tuple of strings
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
        want = "a list of strings"
    if not ok:
        raise InputError(f"{source}: {key} must be {want}, not {value!r}")
    return value


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML (``.toml``) or JSON (any other suffix) config file.

    Raises:
        InputError: the file is missing or unreadable, does not parse, is not a table
            of keys, or :func:`config_from_dict` rejects it.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{p}: cannot read the config: {err}") from None
    try:
        values = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as err:
        kind = "TOML" if p.suffix == ".toml" else "JSON"
        raise InputError(f"{p}: not valid {kind}: {err}") from None
    if not isinstance(values, dict):
        raise InputError(f"{p}: a config is a table of key = value pairs")
    for key, value in values.items():
        if isinstance(value, dict):
            raise InputError(f"{p}: [{key}]: sections are not used; write its keys at the top")
    return config_from_dict(values, str(p))
