"""The paper's text metrics as pure functions: BLEU, exact match, percent error, MAPE.

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
from dataclasses import dataclass

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
