"""The paper's metrics as pure functions: BLEU, exact match, MAPE, flag-tuning summary.

**Tokens.** BLEU counts n-grams of tokens, and compiler text is not prose: ``%5 = add
nsw i32 %3, 1`` or ``movl %edi, %eax``. :func:`tokenize` splits on whitespace and makes
every punctuation character its own token, keeping runs of letters, digits and ``_``
together: ``movl %edi, %eax`` gives ``movl % edi , % eax`` (6 tokens) and ``.LBB0_1:``
gives ``. LBB0_1 :``. So a wrong register or operand costs one token and its n-grams, and
alignment or tab width costs nothing.

**BLEU** is BLEU-4 (Papineni et al., 2002): the geometric mean of the modified (clipped)
1- to 4-gram precisions times the brevity penalty ``exp(1 - r/c)`` when the hypothesis
(c tokens) is shorter than the reference (r tokens); one reference per hypothesis.
:func:`sentence_bleu` smooths by default as Lin and Och (2004) do ("BLEU+1"): 1 is added
to the matches and the total of every n > 1, so one missing 4-gram in a short text does
not make the score 0, while a text sharing no token with its reference still scores 0.
:func:`corpus_bleu` sums counts over all pairs first and is unsmoothed by default.
Identical texts score 1.0. Scores are in [0, 1].

**Exact match** compares texts after :func:`normalize`, which removes only what carries
no code:

- every text: trailing whitespace of each line and blank lines;
- IR (``kind="ir"``): whole-line comments (``; ModuleID = ...``, ``; Function Attrs:``),
  the ``source_filename = ...`` line (the file name the module was compiled from), and
  the comment after a block label (``; preds = %4, %2``, which the printer derives from
  the code). Comments after instructions are kept: ``;`` can sit inside a string.
- assembly (``kind="asm"``): the ``.file`` and ``.ident`` directives (the source file
  name and compiler version, from the IR's metadata). Comments are kept: llc derives
  them from the code (``# -- Begin function f``, ``# %bb.0:``), so a correct answer
  has them.

BLEU in this package is computed on the same normalized texts (see the tasks).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

MAX_N = 4
_TOKEN = re.compile(r"\w+|[^\w\s]")
_IR_LABEL_COMMENT = re.compile(r'^((?:[\w.$\-]+|"[^"]*"):)\s*;.*$')
_IR_DROP = re.compile(r"^\s*(;|source_filename\s*=)")
_ASM_DROP = re.compile(r"^\s*\.(file|ident)\b")
KINDS = ("ir", "asm", "text")


def tokenize(text: str) -> list[str]:
    """The tokens BLEU counts: runs of word characters, and each other non-space character."""
    return _TOKEN.findall(text)


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class BleuCounts:
    """What BLEU needs from one or more (hypothesis, reference) pairs.

    Attributes:
        matches: clipped n-gram matches for n = 1..4.
        totals: n-grams in the hypothesis for n = 1..4.
        hyp_length: hypothesis tokens.
        ref_length: reference tokens.
    """

    matches: tuple[int, ...]
    totals: tuple[int, ...]
    hyp_length: int
    ref_length: int

    def __add__(self, other: BleuCounts) -> BleuCounts:
        return BleuCounts(
            tuple(a + b for a, b in zip(self.matches, other.matches)),
            tuple(a + b for a, b in zip(self.totals, other.totals)),
            self.hyp_length + other.hyp_length,
            self.ref_length + other.ref_length,
        )

    def score(self, smooth: bool) -> float:
        """BLEU-4 from these counts (see the module docstring); 0.0..1.0."""
        if self.hyp_length == 0 or self.ref_length == 0:
            return 1.0 if self.hyp_length == self.ref_length else 0.0
        log_sum = 0.0
        for n, (match, total) in enumerate(zip(self.matches, self.totals), start=1):
            if smooth and n > 1:
                match, total = match + 1, total + 1
            if match == 0 or total == 0:
                return 0.0
            log_sum += math.log(match / total)
        c, r = self.hyp_length, self.ref_length
        brevity = 1.0 if c > r else math.exp(1 - r / c)
        return min(1.0, brevity * math.exp(log_sum / MAX_N))


def bleu_counts(hypothesis: str, reference: str) -> BleuCounts:
    """Clipped n-gram matches and totals of ``hypothesis`` against ``reference``."""
    hyp, ref = tokenize(hypothesis), tokenize(reference)
    matches, totals = [], []
    for n in range(1, MAX_N + 1):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        matches.append(sum(min(count, r[gram]) for gram, count in h.items()))
        totals.append(max(0, len(hyp) - n + 1))
    return BleuCounts(tuple(matches), tuple(totals), len(hyp), len(ref))


def sentence_bleu(hypothesis: str, reference: str, smooth: bool = True) -> float:
    """BLEU-4 of one hypothesis against one reference, in [0, 1] (1.0 when identical)."""
    return bleu_counts(hypothesis, reference).score(smooth)


def corpus_bleu(pairs: Iterable[tuple[str, str]], smooth: bool = False) -> float:
    """Corpus BLEU-4 of (hypothesis, reference) pairs: counts summed, then scored.

    Returns 0.0 for no pairs.
    """
    total = None
    for hypothesis, reference in pairs:
        counts = bleu_counts(hypothesis, reference)
        total = counts if total is None else total + counts
    return 0.0 if total is None else total.score(smooth)


def normalize(text: str, kind: str = "text") -> str:
    """``text`` without what carries no code (see the module docstring).

    Raises:
        ValueError: ``kind`` is not "ir", "asm" or "text".
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    lines = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if kind == "ir":
            if _IR_DROP.match(line):
                continue
            line = _IR_LABEL_COMMENT.sub(r"\1", line)
        elif kind == "asm" and _ASM_DROP.match(line):
            continue
        lines.append(line)
    return "\n".join(lines)


def exact_match(prediction: str, reference: str, kind: str = "text") -> bool:
    """True when the texts are equal after :func:`normalize`.

    Raises:
        ValueError: unknown ``kind``.
    """
    return normalize(prediction, kind) == normalize(reference, kind)


def percent_error(predicted: float, actual: float) -> float | None:
    """``(predicted - actual) / actual * 100`` (signed); None when ``actual`` is 0."""
    if actual == 0:
        return None
    return (predicted - actual) / actual * 100


def mape(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Mean absolute percentage error of (predicted, actual) pairs, in percent.

    Pairs without a prediction (None) or with an actual value of 0 are left out.
    Returns None when no pair is left.
    """
    errors = [
        abs(p - a) / abs(a) * 100 for p, a in pairs if p is not None and a is not None and a != 0
    ]
    return sum(errors) / len(errors) if errors else None


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def share(flags: Iterable[bool | None]) -> float | None:
    """Percentage of True among the flags that are not None; None when there are none."""
    kept = [bool(f) for f in flags if f is not None]
    return sum(kept) / len(kept) * 100 if kept else None


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


# -- summaries of the evaluation harness's rows (llmcompiler.evaluation.harness) ---


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
