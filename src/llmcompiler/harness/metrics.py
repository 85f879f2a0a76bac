"""Summaries of evaluation rows: flag tuning (improvement over -Oz, with and without
the fallback), emulation and disassembly. The per-item text metrics they aggregate
(BLEU, exact match, percent error) live in :mod:`llmcompiler.tasks.metrics`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from llmcompiler.tasks.metrics import exact_match, mape, mean, share

__all__ = [
    "exact_match",
    "mape",
    "mean",
    "share",
    "TuningOutcome",
    "TuningSummary",
    "tuning_summary",
]


# -- flag tuning -------------------------------------------------------------------


@dataclass(frozen=True)
class TuningOutcome:
    """One program's flag-tuning result, for :func:`tuning_summary`.

    Attributes:
        oz_size: binary size at -Oz.
        size: binary size of the result.
        evaluations: compiler evaluations used.
        seconds: wall time.
    """

    oz_size: int
    size: int
    evaluations: int = 0
    seconds: float = 0.0

    @property
    def improvement_pct(self) -> float:
        """Improvement over -Oz: ``(oz_size - size) / oz_size * 100`` (DESIGN.md)."""
        return (self.oz_size - self.size) / self.oz_size * 100 if self.oz_size else 0.0


@dataclass(frozen=True)
class TuningSummary:
    """DESIGN.md's flag-tuning summary over programs; a field is None with no programs.

    Attributes:
        programs: programs summarized (those with -Oz size and result size above 0).
        skipped: programs left out because a size is 0 (e.g. data-only modules).
        mean_pct: mean improvement over -Oz, percent.
        geomean_pct: ``(geometric mean of oz_size / size - 1) * 100``.
        improved_pct, equal_pct, worse_pct: share of programs smaller, equal, larger
            than -Oz, percent.
        evaluations: mean evaluations per program.
        seconds: mean wall time per program.
        max_seconds: longest wall time of one program.
    """

    programs: int
    skipped: int
    mean_pct: float | None
    geomean_pct: float | None
    improved_pct: float | None
    equal_pct: float | None
    worse_pct: float | None
    evaluations: float | None
    seconds: float | None
    max_seconds: float | None

    def to_json(self) -> dict:
        return asdict(self)


def tuning_summary(outcomes: Iterable[TuningOutcome]) -> TuningSummary:
    """Summarize flag-tuning outcomes (see :class:`TuningSummary`)."""
    everything = list(outcomes)
    rows = [o for o in everything if o.oz_size > 0 and o.size > 0]
    n = len(rows)
    if n == 0:
        return TuningSummary(0, len(everything), *([None] * 8))
    gains = [o.improvement_pct for o in rows]
    log_ratio = sum(math.log(o.oz_size / o.size) for o in rows) / n
    return TuningSummary(
        programs=n,
        skipped=len(everything) - n,
        mean_pct=sum(gains) / n,
        geomean_pct=(math.exp(log_ratio) - 1) * 100,
        improved_pct=sum(o.size < o.oz_size for o in rows) / n * 100,
        equal_pct=sum(o.size == o.oz_size for o in rows) / n * 100,
        worse_pct=sum(o.size > o.oz_size for o in rows) / n * 100,
        evaluations=sum(o.evaluations for o in rows) / n,
        seconds=sum(o.seconds for o in rows) / n,
        max_seconds=max(o.seconds for o in rows),
    )


# -- summaries of the evaluation harness's rows (harness.flag_tuning, harness.text_tasks) --


def flag_tuning_summary(rows: list[dict], model_only: bool) -> dict:
    """With and without -Oz fallback (see the module docstring), and label potential."""
    done = [r for r in rows if "error" not in r]

    def outcomes(key: str) -> list[TuningOutcome]:
        return [TuningOutcome(r["oz_size"], r[key], r["evaluations"], r["seconds"]) for r in done]

    out = {
        "programs": len(rows),
        "errors": len(rows) - len(done),
        "with_fallback": tuning_summary(outcomes("size")).to_json(),
        "without_fallback": None,
    }
    if model_only:
        out["without_fallback"] = tuning_summary(outcomes("no_fallback_size")).to_json()
        out["no_valid_proposal"] = sum(r["valid_proposals"] == 0 for r in done)
    labels = [r for r in done if r.get("label_improvement_pct") is not None]
    if labels:
        label_mean = mean(r["label_improvement_pct"] for r in labels)
        ours = mean(r["improvement_pct"] for r in labels)
        out["label_mean_pct"] = label_mean
        out["share_of_label_pct"] = ours / label_mean * 100 if label_mean else None
    return out


def emulation_summary(rows: list[dict]) -> dict:
    """Exact match and BLEU over all items (an item without an answer scores 0), size
    and instruction-count MAPE over the answers that claim one, compile rate of IR."""
    out = {"items": len(rows), "errors": sum("error" in r for r in rows)}
    out.update(_emulation_scores(rows))
    variants = sorted({r["variant"] for r in rows if "variant" in r})
    if len(variants) > 1:
        out["by_variant"] = {
            v: _emulation_scores([r for r in rows if r.get("variant") == v]) for v in variants
        }
    return out


def _emulation_scores(rows: list[dict]) -> dict:
    scored = [r for r in rows if "variant" in r]
    claims = [r for r in scored if r["predicted"]["size"] is not None]
    return {
        "exact_match_pct": share(r.get("exact_match", False) for r in rows),
        "bleu_mean": mean(r.get("bleu", 0.0) for r in rows),
        "size_mape": mape((r["predicted"]["size"], r["real"]["size"]) for r in scored),
        "instcount_mape": mape(
            (r["predicted"]["instcount"], r["real"]["instcount"]) for r in scored
        ),
        "size_claimed": len(claims),
        "compiles_pct": share(r["compiles"] for r in scored),
    }


def disassembly_summary(rows: list[dict]) -> dict:
    """Round trip, BLEU and exact match over all items (failures score 0), BLEU over
    the round-tripped items (the paper's 0.96 can only be that), IR exact match."""
    scored = [r for r in rows if "error" not in r]
    tripped = [r for r in scored if r["round_trip"]]
    asked = sum(r["candidates"] for r in scored)
    return {
        "items": len(rows),
        "errors": len(rows) - len(scored),
        "round_trip_pct": share(r.get("round_trip", False) for r in rows),
        "bleu_mean": mean(r.get("bleu", 0.0) for r in rows),
        "bleu_round_trip_mean": mean(r["bleu"] for r in tripped),
        "exact_match_pct": share(r.get("exact_match", False) for r in rows),
        "ir_exact_match_pct": share(r.get("ir_exact_match", False) for r in rows),
        "candidates_round_trip_pct": (
            sum(r["round_trips"] for r in scored) / asked * 100 if asked else None
        ),
    }
