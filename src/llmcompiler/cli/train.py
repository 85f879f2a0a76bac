"""``llmc train``: fine-tune a causal LM on a dataset (see :mod:`llmcompiler.training.train`).

Progress (a bar with the loss and tokens per second, and one line per validation) goes
to stderr; the final line, naming the checkpoint, to stdout.
"""

from __future__ import annotations

import argparse
import sys

from llmcompiler.cli.report import progress


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``."""
    parser = subparsers.add_parser(
        "train", help="fine-tune a causal LM on a dataset (completion-only loss)"
    )
    parser.add_argument(
        "--data",
        required=True,
        metavar="DATASET_DIR",
        help="a directory made by llmc dataset build",
    )
    parser.add_argument(
        "--config",
        metavar="CONFIG",
        help="TOML (.toml) or JSON training settings, keys as in "
        "llmcompiler.training.config.TrainConfig (default: its defaults)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output checkpoint directory")
    parser.add_argument(
        "--init",
        metavar="PATH",
        help="local Hugging Face checkpoint to fine-tune (default: a fresh small Llama and "
        "a BPE tokenizer trained on the dataset)",
    )
    parser.add_argument(
        "--lora", action="store_true", help="train LoRA adapters on --init, merged when saved"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier training output in --out"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train and save the checkpoint; returns 0.

    Raises:
        LLMCError: bad config, dataset or --init checkpoint, or an output directory in use.
    """
    from llmcompiler.training.config import TrainConfig, load_config
    from llmcompiler.training.train import Training

    config = load_config(args.config) if args.config else TrainConfig()
    training = Training(
        args.data, config, args.out, init=args.init, lora=args.lora, overwrite=args.overwrite
    )
    counts = training.counts
    print(
        f"llmc train: {counts['train']['records']} train and {counts['val']['records']} val "
        f"examples ({counts['train']['dropped_over_context']} and "
        f"{counts['val']['dropped_over_context']} dropped: over {training.context} tokens), "
        f"{training.total_steps} steps on {training.device}",
        file=sys.stderr,
    )
    total = training.total_steps
    with progress(None, total, "training", unit="step", leave=True) as bar:
        for log in training.run():
            bar.update(1)
            bar.set_postfix(loss=f"{log.train_loss:.4f}", tok_s=f"{log.tokens_per_second:.0f}")
            if log.val_loss is not None:
                bar.write(
                    f"step {log.step}/{total}: train loss {log.train_loss:.4f}, "
                    f"val loss {log.val_loss:.4f}, {log.tokens_per_second:.0f} tokens/s",
                    file=sys.stderr,
                )
    result = training.summary
    val = f", val loss {result['val_loss']:.4f}" if result["val_loss"] is not None else ""
    print(
        f"{args.out}: checkpoint after {result['steps']} steps "
        f"(train loss {result['train_loss']:.4f}{val}, {result['seconds']:.1f} s)"
    )
    return 0
