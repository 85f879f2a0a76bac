"""What a dataset holds (:class:`DatasetConfig`), and which split each program goes to.

Splits are by program: a module's hash and the seed decide its split, so no program
has records in two splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

from llmcompiler.datasets.emulation import EmulationConfig
from llmcompiler.datasets.flag_tuning import FlagTuningConfig

TASKS = ("emulation", "flag-tuning", "disassembly")
DEFAULT_SPLITS = (("train", 0.9), ("val", 0.05), ("test", 0.05))


@dataclass(frozen=True)
class DatasetConfig:
    """What a dataset holds. Everything here is recorded in the manifest; settings that
    do not change the output (processes, Ray) are not.

    Attributes:
        task: "emulation", "flag-tuning" or "disassembly".
        seed: decides the emulation pass lists and each program's split.
        splits: (name, fraction) pairs, fractions summing to 1; the paper-like default
            is 90 % train, 5 % validation, 5 % test (by program, not by record).
        max_tokens: drop records whose prompt + completion + BOS/EOS exceed this many
            tokens (None: keep all); the released models' context is 16k.
        timeout: seconds one evaluation may take before the pass list (emulation) or
            the module (other tasks) is given up.
        emulation: pass-list settings (emulation only).
        flag_tuning: where labels come from (flag tuning only).

    Raises (on creation):
        ValueError: an unknown task, flag tuning without labels, bad split names or
            fractions, or a token budget below 1.
    """

    task: str
    seed: int = 0
    splits: tuple[tuple[str, float], ...] = DEFAULT_SPLITS
    max_tokens: int | None = None
    #: use a seeded sample of at most this many corpus modules (None: all of them)
    max_modules: int | None = None
    timeout: float = 60.0
    emulation: EmulationConfig = field(default_factory=EmulationConfig)
    flag_tuning: FlagTuningConfig | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {self.task!r}")
        if self.task == "flag-tuning" and self.flag_tuning is None:
            raise ValueError("flag tuning needs a FlagTuningConfig (labels)")
        names = [name for name, _ in self.splits]
        if not names or len(set(names)) != len(names):
            raise ValueError("split names must be unique and at least one")
        for name, fraction in self.splits:
            if not name.isidentifier() or fraction < 0:
                raise ValueError(f"bad split {name}={fraction}")
        if abs(sum(f for _, f in self.splits) - 1.0) > 1e-6:
            raise ValueError("split fractions must sum to 1")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError("max_tokens must be positive")

    def generator(self) -> dict:
        """The settings that decide the output, for the manifest."""
        out = {"task": self.task, "seed": self.seed, "splits": dict(self.splits)}
        out["max_tokens"] = self.max_tokens
        if self.max_modules is not None:
            out["max_modules"] = self.max_modules
        out["timeout"] = self.timeout
        if self.task == "emulation":
            out["emulation"] = asdict(self.emulation)
        if self.task == "flag-tuning":
            out["flag_tuning"] = asdict(self.flag_tuning)
        return out


def parse_splits(text: str) -> tuple[tuple[str, float], ...]:
    """Parse ``train=0.9,val=0.05,test=0.05`` into (name, fraction) pairs, in order.

    Raises:
        ValueError: malformed text (fractions are checked by DatasetConfig).
    """
    out = []
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"split {item!r} is not NAME=FRACTION")
        try:
            out.append((name.strip(), float(value)))
        except ValueError:
            raise ValueError(f"split {item!r}: {value!r} is not a number") from None
    return tuple(out)


def assign_split(digest: str, seed: int, splits: tuple[tuple[str, float], ...]) -> str:
    """The split of the program with this hash: sha256(seed:hash) as a number in [0, 1)
    against the cumulative fractions."""
    key = hashlib.sha256(f"{seed}:{digest}".encode()).digest()
    u = int.from_bytes(key[:8], "big") / 2**64
    total = 0.0
    for name, fraction in splits:
        total += fraction
        if u < total:
            return name
    return splits[-1][0]
