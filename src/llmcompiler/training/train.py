"""Supervised fine-tuning of a causal LM on a dataset made by ``llmc dataset build``.

One example is BOS + prompt + completion + EOS, with the loss on the completion and
EOS only (prompt tokens are labelled -100): the model learns to answer, not to write
prompts (:mod:`llmcompiler.training.data`). Examples longer than
``context_length`` are dropped and counted. The settings are a frozen
:class:`~llmcompiler.training.config.TrainConfig` read from TOML or JSON.

Two starting points:

- no ``init``: a fresh small Llama built from the config, and a byte-level BPE
  tokenizer trained (offline, with the ``tokenizers`` library) on the train split,
  with BOS ``<s>``, EOS ``</s>`` and pad ``<pad>``;
- ``init``: a local Hugging Face checkpoint (its own tokenizer), fine-tuned in full or,
  with ``lora``, through LoRA adapters (peft) that are merged into the weights before
  saving, so the output loads as a plain checkpoint.

The loop is a plain torch loop (AdamW, linear warmup then cosine decay, gradient
accumulation and clipping, validation loss every ``eval_interval`` steps and at the
end). The output directory holds the checkpoint (``save_pretrained``: model and
tokenizer), ``train_config.json`` (the resolved config, the data counts and the
result), ``dataset_manifest.json`` (the dataset's manifest) and ``training_log.jsonl``
(one line per optimizer step: step, train_loss, val_loss or null, lr,
tokens_per_second, seconds).

On a GPU: ``device = "cuda"`` (or "auto") and ``dtype = "bfloat16"`` (or "auto"):
compute runs under bf16 autocast, the weights of a full run stay float32 for the
optimizer and are saved in bfloat16; under LoRA the frozen base is loaded in bfloat16.
For a 7B model with 16k-token examples use ``--lora``, ``gradient_checkpointing =
true``, ``batch_size = 1`` and ``grad_accum`` for the effective batch (docs/training.md).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from llmcompiler import __version__
from llmcompiler.datasets import store
from llmcompiler.errors import InputError, ModelError
from llmcompiler.model.hf import (
    check_checkpoint,
    dtype_argument,
    first_line,
    import_torch_transformers,
    resolve_device,
)
from llmcompiler.training.config import TrainConfig, load_config
from llmcompiler.training.data import (
    IGNORE,
    collate,
    encode_example,
    encode_examples,
    read_records,
    train_tokenizer,
)

SCHEMA_VERSION = 1
CONFIG_FILE = "train_config.json"
LOG_FILE = "training_log.jsonl"
MANIFEST_COPY = "dataset_manifest.json"

__all__ = [
    "IGNORE",
    "StepLog",
    "TrainConfig",
    "Training",
    "collate",
    "encode_example",
    "encode_examples",
    "load_config",
    "read_records",
    "train_tokenizer",
]


# -- the run -----------------------------------------------------------------------


@dataclass(frozen=True)
class StepLog:
    """One optimizer step, as written to ``training_log.jsonl``.

    Attributes:
        step: steps done (1 for the first).
        train_loss: mean loss of the step's micro-batches (completion tokens only).
        val_loss: token-weighted loss on the validation split, when measured.
        lr: learning rate of the step.
        tokens_per_second: tokens (padding excluded) processed per second in the step.
        seconds: wall time since training began.
    """

    step: int
    train_loss: float
    val_loss: float | None
    lr: float
    tokens_per_second: float
    seconds: float


class Training:
    """One training run. Creating it checks the inputs, encodes the data and loads or
    builds the model; iterate :meth:`run` to train; ``summary`` holds the result.

    Args:
        data: dataset directory (``train.jsonl``, optional ``val.jsonl``,
            ``manifest.json``).
        config: the training settings.
        out: output directory: new or empty (or, with ``overwrite``, an earlier
            training output, which is replaced).
        init: checkpoint to start from (None: a fresh model and tokenizer).
        lora: train LoRA adapters on ``init`` instead of all weights.

    Raises:
        InputError: missing or malformed dataset, no record fits the context, or OUT
            cannot be used.
        ModelError: torch, transformers, tokenizers or peft missing; the checkpoint
            cannot be loaded; the device cannot be used.
    """

    def __init__(
        self,
        data: str | Path,
        config: TrainConfig,
        out: str | Path,
        init: str | Path | None = None,
        lora: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.data, self.out, self.config = Path(data), Path(out), config
        self.init, self.lora = (Path(init) if init is not None else None), lora
        if lora and init is None:
            raise InputError("--lora adapts an existing checkpoint: give --init PATH")
        train_pairs, val_pairs = self._read_dataset()
        if self.init is not None and self.out.resolve() == self.init.resolve():
            raise InputError(f"{self.out}: the output directory cannot be the --init checkpoint")
        torch, transformers = import_torch_transformers()
        self._torch = torch
        self.device = resolve_device(torch, None if config.device == "auto" else config.device)
        self.bf16 = self._bf16()
        torch.manual_seed(config.seed)
        if self.init is None:
            texts = [text for pair in train_pairs for text in pair]
            self.tokenizer = train_tokenizer(texts, config.vocab_size, config.context_length)
            self.model = self._fresh_model(transformers)
            self.context = config.context_length
        else:
            self.tokenizer, self.model = self._load_init(transformers)
            own = getattr(self.model.config, "max_position_embeddings", None) or 10**9
            self.context = min(config.context_length, own)
        if self.tokenizer.eos_token_id is None:
            raise ModelError(f"{self.init}: the tokenizer has no EOS token")
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.tokenizer.eos_token_id
        self.train, dropped_train = self._encode(train_pairs)
        self.val, dropped_val = self._encode(val_pairs)
        self.counts = {
            "train": {"records": len(self.train), "dropped_over_context": dropped_train},
            "val": {"records": len(self.val), "dropped_over_context": dropped_val},
        }
        if not self.train:
            raise InputError(
                f"{self.data}: no training record fits in {self.context} tokens "
                f"({dropped_train} dropped)"
            )
        self.model = self._prepare_model(self.model)
        self.model.to(self.device)
        micro = math.ceil(len(self.train) / config.batch_size) * config.epochs
        self.total_steps = config.max_steps or math.ceil(micro / config.grad_accum)
        self.summary: dict | None = None
        _prepare_out(self.out, overwrite)
        shutil.copyfile(store.manifest_path(self.data), self.out / MANIFEST_COPY)
        self._write_config(None)

    # -- set-up --

    def _read_dataset(self) -> tuple[list, list]:
        store.read_manifest(self.data)  # a dataset directory, with a manifest to copy
        train_file = store.find_split(self.data, "train")
        train = read_records(train_file)
        if not train:
            raise InputError(f"{train_file}: no records")
        val_file = store.split_path(self.data, "val")
        return train, read_records(val_file) if val_file.is_file() else []

    def _bf16(self) -> bool:
        torch, wanted = self._torch, self.config.dtype
        if wanted == "auto":
            return self.device == "cuda" and torch.cuda.is_bf16_supported()
        if wanted == "bfloat16" and self.device == "cuda" and not torch.cuda.is_bf16_supported():
            raise ModelError("dtype bfloat16 was asked for, but this GPU does not support it")
        return wanted == "bfloat16"

    def _fresh_model(self, transformers):
        c, tok = self.config, self.tokenizer
        llama = transformers.LlamaConfig(
            vocab_size=len(tok),
            hidden_size=c.hidden_size,
            intermediate_size=c.intermediate_size or 4 * c.hidden_size,
            num_hidden_layers=c.layers,
            num_attention_heads=c.heads,
            num_key_value_heads=c.kv_heads or c.heads,
            max_position_embeddings=c.context_length,
            attention_dropout=c.dropout,
            tie_word_embeddings=c.tie_embeddings,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        return transformers.LlamaForCausalLM(llama)

    def _load_init(self, transformers):
        path = check_checkpoint(self.init)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as err:  # noqa: BLE001 - any loader failure is one message
            raise ModelError(f"{path}: cannot load the tokenizer: {first_line(err)}") from None
        dtype = self._torch.bfloat16 if self.lora and self.bf16 else self._torch.float32
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                path, local_files_only=True, **dtype_argument(transformers, dtype)
            )
        except Exception as err:  # noqa: BLE001 - corrupt weights, unknown architecture
            raise ModelError(f"{path}: cannot load the model: {first_line(err)}") from None
        return tokenizer, model

    def _prepare_model(self, model):
        c = self.config
        model.config.use_cache = False  # no KV cache while training
        if c.gradient_checkpointing:
            model.gradient_checkpointing_enable()
        if not self.lora:
            return model
        try:
            import peft
        except ImportError:
            raise ModelError("--lora needs peft: pip install 'llmcompiler[model]'") from None
        if c.gradient_checkpointing:
            model.enable_input_require_grads()
        lora = peft.LoraConfig(
            r=c.lora_rank,
            lora_alpha=c.lora_alpha,
            lora_dropout=c.lora_dropout,
            target_modules=list(c.lora_targets),
            task_type="CAUSAL_LM",
        )
        try:
            return peft.get_peft_model(model, lora)
        except ValueError as err:  # e.g. a target module the model does not have
            raise InputError(f"lora_targets {list(c.lora_targets)}: {first_line(err)}") from None

    def _encode(self, pairs: list[tuple[str, str]], chunk: int = 1024) -> tuple[list, int]:
        """The examples that fit the context, stored compactly (int32 arrays: 8 bytes
        per token for ids and labels), and how many did not fit."""
        kept, dropped = [], 0
        for first in range(0, len(pairs), chunk):
            for ids, labels in encode_examples(self.tokenizer, pairs[first : first + chunk]):
                if len(ids) <= self.context:
                    kept.append((array("i", ids), array("i", labels)))
                else:
                    dropped += 1
        return kept, dropped

    # -- training --

    def run(self) -> Iterator[StepLog]:
        """Train for ``total_steps`` optimizer steps, yielding each step's log, then save
        the checkpoint and set ``summary``."""
        torch, c, model = self._torch, self.config, self.model
        optimizer = self._optimizer()
        batches = self._micro_batches()
        start = time.monotonic()
        val_loss = None
        with open(self.out / LOG_FILE, "w") as log_file:
            for step in range(1, self.total_steps + 1):
                began, lr = time.monotonic(), self._lr(step - 1)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                model.train()
                loss_sum, tokens = 0.0, 0
                for _ in range(c.grad_accum):
                    batch = {k: v.to(self.device) for k, v in next(batches).items()}
                    with self._autocast():
                        loss = model(**batch).loss
                    (loss / c.grad_accum).backward()
                    loss_sum += float(loss.detach())
                    tokens += int(batch["attention_mask"].sum())
                if c.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self._trainable(), c.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                speed = tokens / max(time.monotonic() - began, 1e-9)
                measured = None
                if self.val and (step % c.eval_interval == 0 or step == self.total_steps):
                    measured = val_loss = self.evaluate()
                log = StepLog(
                    step, loss_sum / c.grad_accum, measured, lr, speed, time.monotonic() - start
                )
                log_file.write(json.dumps(asdict(log)) + "\n")
                log_file.flush()
                yield log
        self._save()
        self.summary = {
            "steps": self.total_steps,
            "train_loss": log.train_loss,
            "val_loss": val_loss,
            "seconds": round(time.monotonic() - start, 3),
        }
        self._write_config(self.summary)

    def evaluate(self) -> float:
        """Token-weighted mean loss on the validation split (at most ``eval_batches``
        batches; all of them when 0)."""
        torch, c, model = self._torch, self.config, self.model
        model.eval()
        total, count = 0.0, 0
        starts = range(0, len(self.val), c.batch_size)
        if c.eval_batches:
            starts = starts[: c.eval_batches]
        with torch.no_grad():
            for first in starts:
                batch = collate(self.val[first : first + c.batch_size], self.pad_id)
                batch = {k: v.to(self.device) for k, v in batch.items()}
                with self._autocast():
                    loss = model(**batch).loss
                n = int((batch["labels"][:, 1:] != IGNORE).sum())
                total, count = total + float(loss) * n, count + n
        return total / max(count, 1)

    def _micro_batches(self) -> Iterator[dict]:
        """Batches of ``batch_size`` examples, reshuffled (seeded) every epoch, forever."""
        torch, size = self._torch, self.config.batch_size
        generator = torch.Generator().manual_seed(self.config.seed)
        while True:
            order = torch.randperm(len(self.train), generator=generator).tolist()
            for first in range(0, len(order), size):
                chunk = [self.train[i] for i in order[first : first + size]]
                yield collate(chunk, self.pad_id)

    def _trainable(self) -> list:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _optimizer(self):
        """AdamW; weight decay on matrices only (not on norms, biases)."""
        params = self._trainable()
        groups = [
            {
                "params": [p for p in params if p.dim() >= 2],
                "weight_decay": self.config.weight_decay,
            },
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        betas = (self.config.beta1, self.config.beta2)
        return self._torch.optim.AdamW(groups, lr=self.config.lr, betas=betas)

    def _lr(self, step: int) -> float:
        """Linear warmup to ``lr``, then cosine decay to ``min_lr`` at the last step."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / (c.warmup_steps + 1)
        span = max(self.total_steps - 1 - c.warmup_steps, 1)
        progress = min((step - c.warmup_steps) / span, 1.0)
        return c.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (c.lr - c.min_lr)

    def _autocast(self):
        device_type = "cuda" if self.device == "cuda" else "cpu"
        return self._torch.autocast(device_type, dtype=self._torch.bfloat16, enabled=self.bf16)

    def _save(self) -> None:
        model = self.model
        if self.lora:
            model = model.merge_and_unload()
        if self.bf16:
            model = model.to(self._torch.bfloat16)
        if self.config.gradient_checkpointing:
            model.gradient_checkpointing_disable()
        model.config.use_cache = True
        model.save_pretrained(self.out)
        self.tokenizer.save_pretrained(self.out)

    def _write_config(self, result: dict | None) -> None:
        model = self.model
        document = {
            "schema_version": SCHEMA_VERSION,
            "kind": "llmcompiler-training",
            "llmcompiler_version": __version__,
            "config": {**asdict(self.config), "device": self.device},
            "dtype": "bfloat16" if self.bf16 else "float32",
            "dataset": str(self.data),
            "init": str(self.init) if self.init is not None else None,
            "lora": self.lora,
            "tokenizer": "from --init" if self.init is not None else "byte-level BPE (trained)",
            "context_length": self.context,
            "data": self.counts,
            "parameters": sum(p.numel() for p in model.parameters()),
            "trainable_parameters": sum(p.numel() for p in self._trainable()),
            "total_steps": self.total_steps,
            "result": result,
        }
        text = json.dumps(document, indent=2)
        (self.out / CONFIG_FILE).write_text(text + "\n")


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / CONFIG_FILE).is_file():
            raise InputError(f"{out}: not empty and not a training output")
        if not overwrite:
            raise InputError(f"{out}: a training output is already there (use --overwrite)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
