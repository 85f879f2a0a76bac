"""The dataset card (``llmc dataset info``): counts, token lengths and pass-list lengths,
as text histograms, and as a PNG plot on request."""

from __future__ import annotations

import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llmcompiler.datasets import store
from llmcompiler.errors import InputError, LLMCError

_BAR = 40  # characters of the longest histogram bar


@dataclass
class DatasetStats:
    """What the card shows, read from a dataset directory."""

    root: Path
    manifest: dict
    tokens: list[int] = field(default_factory=list)  # per record, BOS/EOS included
    pass_counts: list[int] = field(default_factory=list)  # per record with a pass list
    variants: Counter = field(default_factory=Counter)
    improvements: list[float] = field(default_factory=list)  # flag tuning, % over -Oz


def read_stats(root: str | os.PathLike) -> DatasetStats:
    """Read a dataset directory's manifest and records.

    Returns:
        The manifest and the per-record numbers of every split the manifest lists.

    Raises:
        InputError: no dataset directory or manifest, or a records file is missing or
            not JSON lines.
    """
    root = Path(root)
    stats = DatasetStats(root, store.read_manifest(root))
    for name in store.listed_splits(stats.manifest):
        file = store.split_path(root, name)
        if not file.is_file():
            raise InputError(f"{file}: missing (the manifest lists split {name!r})")
        for record in store.read_rows(file):
            stats.tokens.append(record.get("tokens", 0))
            if "pass_count" in record:
                stats.pass_counts.append(record["pass_count"])
            if "variant" in record:
                stats.variants[record["variant"]] += 1
            if record.get("improvement_pct") is not None:
                stats.improvements.append(record["improvement_pct"])
    return stats


def histogram(values: list[int | float], bins: int = 10, integer: bool = True) -> list[str]:
    """Text histogram lines: ``low - high  bar count``, equal-width bins over the range."""
    if not values:
        return ["  (no records)"]
    low, high = min(values), max(values)
    if integer:
        width = max(1, math.ceil((high - low + 1) / bins))
        edges = [(low + i * width, low + (i + 1) * width - 1) for i in range(bins)]
        edges = [(a, b) for a, b in edges if a <= high]
        counts = [sum(a <= v <= b for v in values) for a, b in edges]
        labels = [f"{a}-{b}" if a != b else f"{a}" for a, b in edges]
    else:
        width = (high - low) / bins or 1.0
        edges = [(low + i * width, low + (i + 1) * width) for i in range(bins)]
        counts = [0] * bins
        for v in values:
            counts[min(bins - 1, int((v - low) / width))] += 1
        labels = [f"{a:.2f} to {b:.2f}" for a, b in edges]
    most = max(counts)
    pad = max(map(len, labels))
    return [
        f"  {label.rjust(pad)}  {'#' * math.ceil(_BAR * c / most) if c else ''} {c}".rstrip()
        for label, c in zip(labels, counts)
    ]


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return (
        f"min {ordered[0]:g}, median {statistics.median(ordered):g}, "
        f"mean {statistics.fmean(ordered):.1f}, p90 {p90:g}, max {ordered[-1]:g}"
    )


def render_card(stats: DatasetStats) -> str:
    """The card as text."""
    m = stats.manifest
    gen, corpus, tok = m.get("generator", {}), m.get("corpus", {}), m.get("tokenizer", {})
    lines = [
        f"{m.get('task')} dataset {stats.root} "
        f"(schema {m.get('schema_version')}, LLVM {m.get('llvm_version')})",
        f"corpus: {corpus.get('modules')} modules, hash {str(corpus.get('hash'))[:16]}, "
        f"from {corpus.get('path')}",
        f"seed {gen.get('seed')}; tokenizer {tok.get('name')} ({tok.get('kind')}); "
        f"token budget {gen.get('max_tokens') or 'none'}",
        "",
        f"{'split':<10}{'programs':>10}{'records':>10}",
    ]
    counts = m.get("counts", {})
    for name, c in counts.items():
        lines.append(f"{name:<10}{c['programs']:>10}{c['records']:>10}")
    total_programs = sum(c["programs"] for c in counts.values())
    lines.append(f"{'total':<10}{total_programs:>10}{m.get('records', 0):>10}")
    dropped = m.get("dropped", {})
    extra = [f"dropped over the token budget: {dropped.get('total', 0)}"]
    failed = m.get("failed", 0)
    extra.append(f"failed modules: {failed}" + (f" (see {store.ERRORS})" if failed else ""))
    if "unlabeled" in m:
        extra.append(f"modules without a label: {m['unlabeled']}")
    if m.get("skipped_pass_lists"):
        skipped = ", ".join(f"{k} {v}" for k, v in m["skipped_pass_lists"].items())
        extra.append(f"pass lists skipped: {skipped}")
    lines += ["", "; ".join(extra)]
    if stats.variants:
        lines.append(
            "records by variant: " + ", ".join(f"{k} {v}" for k, v in stats.variants.items())
        )
    if "target" in m:
        lines.append(f"target IR: {m['target']['ir']} ({m['target']['pipeline']})")
    if stats.tokens:
        lines += [
            "",
            "tokens per record (prompt + completion + BOS/EOS): " + _summary(stats.tokens),
        ]
        lines += histogram(stats.tokens)
    if stats.pass_counts:
        lines += ["", "pass-list length (passes): " + _summary(stats.pass_counts)]
        lines += histogram(stats.pass_counts)
    if stats.improvements:
        better = sum(v > 0 for v in stats.improvements)
        lines += [
            "",
            f"improvement over -Oz (%): {_summary(stats.improvements)}; "
            f"{better} of {len(stats.improvements)} records better than -Oz",
        ]
    return "\n".join(lines)


def plot_card(stats: DatasetStats, png: str | os.PathLike) -> None:
    """Write the token-length (and pass-list length) histograms to a PNG file.

    Raises:
        LLMCError: matplotlib is not installed, or the file cannot be written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LLMCError("--plot needs matplotlib: pip install matplotlib") from None
    panels = [("tokens per record", stats.tokens)]
    if stats.pass_counts:
        panels.append(("pass-list length", stats.pass_counts))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for ax, (title, values) in zip(axes[0], panels):
        ax.hist(values, bins=min(30, max(1, len(set(values)))), color="#4c72b0")
        ax.set_title(title)
        ax.set_ylabel("records")
    fig.suptitle(
        f"{stats.manifest.get('task')} dataset: {stats.manifest.get('records', 0)} records"
    )
    fig.tight_layout()
    try:
        fig.savefig(png, dpi=100)
    except OSError as err:
        raise LLMCError(f"{png}: {err.strerror}") from None
    finally:
        plt.close(fig)
