"""Training examples for ``llmc train``: records read, tokenized, labelled and batched.

An example is BOS + prompt + completion + EOS. The prompt is tokenized exactly as a
back end tokenizes it at inference (the tokenizer adds BOS), the completion without
special tokens, then EOS; the labels are -100 (no loss) over the prompt, so the model
learns the answers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from llmcompiler.datasets import store
from llmcompiler.errors import InputError, ModelError
from llmcompiler.model.hf import import_torch_transformers

#: Label of a token that carries no loss (the prompt, padding).
IGNORE = -100
#: Special tokens of a tokenizer trained here.
BOS, EOS, PAD = "<s>", "</s>", "<pad>"

Example = tuple[list[int], list[int]]  # (input_ids, labels)


def read_records(path: Path) -> list[tuple[str, str]]:
    """Return the (prompt, completion) pairs of one split file, in order.

    Raises:
        InputError: a line is not a JSON record or lacks string ``prompt`` and
            ``completion``.
    """
    pairs = []
    for number, record in store.numbered_rows(path):
        prompt, completion = record.get("prompt"), record.get("completion")
        if not isinstance(prompt, str) or not isinstance(completion, str):
            raise InputError(f"{path}:{number}: a record needs string prompt and completion")
        pairs.append((prompt, completion))
    return pairs


def encode_example(tokenizer, prompt: str, completion: str) -> Example:
    """``(input_ids, labels)`` for one record: labels are -100 over BOS and the prompt,
    then the completion's tokens and EOS."""
    return encode_examples(tokenizer, [(prompt, completion)])[0]


def encode_examples(tokenizer, pairs: list[tuple[str, str]]) -> list[Example]:
    """:func:`encode_example` for many records at once (the fast tokenizer batches)."""
    if not pairs:
        return []
    limit = tokenizer.model_max_length
    tokenizer.model_max_length = 10**30  # long records are dropped later, not warned about
    try:
        prompts = tokenizer([p for p, _ in pairs])["input_ids"]
        completions = tokenizer([c for _, c in pairs], add_special_tokens=False)["input_ids"]
    finally:
        tokenizer.model_max_length = limit
    eos = [tokenizer.eos_token_id]
    return [(p + c + eos, [IGNORE] * len(p) + c + eos) for p, c in zip(prompts, completions)]


def collate(examples: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int) -> dict:
    """A batch (torch tensors): ``input_ids``, ``attention_mask`` and ``labels``, padded
    on the right to the longest example (pad positions: mask 0, label -100)."""
    torch, _ = import_torch_transformers()
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (ids, labs) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def train_tokenizer(texts: list[str], vocab_size: int, context_length: int):
    """A byte-level BPE tokenizer trained on ``texts``, as a transformers fast tokenizer
    that adds BOS to every encoded text (like the LLM Compiler tokenizer).

    Raises:
        ModelError: tokenizers or transformers is not installed.
    """
    import_torch_transformers()
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    except ImportError:
        raise ModelError(
            "training a tokenizer needs tokenizers: pip install 'llmcompiler[model]'"
        ) from None
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    bos = core.token_to_id(BOS)
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=context_length,
    )
