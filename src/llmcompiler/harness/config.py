"""An evaluation run's settings (:class:`EvalConfig`) and what it produced (:class:`EvalRun`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from llmcompiler.datasets import store
from llmcompiler.errors import InputError

TASKS = ("flag-tuning", "emulation", "disassembly")
METHODS = ("model", "local", "greedy", "random", "oz")
#: Wraps an iterable with a progress display: (iterable, total, description).
Progress = Callable[[Iterable, int, str], Iterable]


def no_progress(iterable: Iterable, total: int, desc: str) -> Iterable:
    """Return ``iterable`` unchanged: the :data:`Progress` that shows nothing."""
    return iterable


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run.

    Attributes:
        task: "flag-tuning", "emulation" or "disassembly".
        data: a dataset directory (``llmc dataset build``); its ``split`` is evaluated.
        bench: a directory of .c/.ll/.bc programs (flag tuning only).
        target_flags: clang flags for ``bench``'s C sources (``--target=T``, ``-mcpu=``...;
            .ll/.bc programs keep their own triple).
        split: the dataset split to read (``SPLIT.jsonl``).
        method: flag tuning: "model" (the model's lists, measured; -Oz fallback),
            "local", "greedy", "random" (search, as ``llmc optimize``, with the shipped
            coreset) or "oz" (-Oz alone, the baseline).
        model: "builtin" or a model directory; None: "builtin" for method "model" and
            for the text tasks (which then fail: builtin is not a text model), no model
            for the search methods.
        candidates: answers asked per item (None: 4 for flag tuning, which with -Oz makes 5
            evaluations, 1 otherwise).
        budget: search seconds per program (None: 5 s, or no time limit when
            ``evaluations`` is given).
        evaluations: search evaluations per program (None: no limit).
        limit: evaluate only the first N items.
        seed: search seed.
        jobs: evaluator worker processes (None: one per core).
        timeout: seconds one evaluation may take (text tasks: each LLVM tool run on
            one answer).
        max_new_tokens: longest answer of a text model.
        batch: prompts sent to a text model at once.
        device: where a text model runs ("cpu", "cuda"; None: the back end decides).
        answers: keep the text model's raw answers in the rows (each cut to
            ANSWER_CHARS characters), to debug the model; False leaves them out.
    """

    task: str
    data: str | None = None
    bench: str | None = None
    target_flags: tuple[str, ...] = ()
    split: str = "test"
    method: str = "model"
    model: str | None = None
    candidates: int | None = None
    budget: float | None = None
    evaluations: int | None = None
    limit: int | None = None
    seed: int = 0
    jobs: int | None = None
    timeout: float = 120.0
    max_new_tokens: int = 2048
    batch: int = 1
    device: str | None = None
    answers: bool = True

    def check(self) -> None:
        """Check that the configuration can run.

        Raises:
            InputError: a bad task, method or number, not exactly one of ``data`` and
                ``bench``, or a dataset split or directory that is not there.
        """
        if self.task not in TASKS:
            raise InputError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if (self.data is None) == (self.bench is None):
            raise InputError("give exactly one of --data DATASET_DIR and --bench DIR")
        if self.bench is not None and self.task != "flag-tuning":
            raise InputError(f"{self.task} is evaluated on a dataset: give --data DATASET_DIR")
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.task != "flag-tuning" and self.method != "model":
            raise InputError(f"--method is for flag tuning; {self.task} evaluates a text model")
        for name in ("candidates", "evaluations", "limit", "batch"):
            value = getattr(self, name)
            if value is not None and value < (0 if name == "evaluations" else 1):
                raise InputError(f"--{name} must be positive, not {value}")
        if self.budget is not None and self.budget <= 0:
            raise InputError(f"--budget must be positive, not {self.budget:g}")
        if self.timeout <= 0:
            raise InputError(f"--timeout must be positive, not {self.timeout:g}")
        if self.data is not None:
            store.find_split(self.data, self.split)
        elif not Path(self.bench).is_dir():
            raise InputError(f"{self.bench}: no such directory")

    @property
    def k(self) -> int:
        """Answers asked per item: ``candidates``, or the task's default."""
        if self.candidates is not None:
            return self.candidates
        return 4 if self.task == "flag-tuning" else 1

    def limited(self, items: list) -> list:
        """Return the first ``limit`` of ``items`` (all of them without a limit)."""
        return items if self.limit is None else items[: self.limit]


@dataclass(frozen=True)
class EvalRun:
    """What a run produced: its settings, one row per item, and the summary."""

    task: str
    config: dict
    model: str | None
    rows: tuple[dict, ...]
    summary: dict

    @property
    def errors(self) -> int:
        """Rows that hold an ``error``."""
        return sum("error" in r for r in self.rows)

    def to_json(self) -> dict:
        """Return the run as written to ``results.json``."""
        return {
            "task": self.task,
            "config": self.config,
            "model": self.model,
            "summary": self.summary,
            "rows": list(self.rows),
        }


def model_name(model: object) -> str | None:
    """Return the name a run records for ``model``: its ``name``, else its class name
    (None for no model)."""
    return None if model is None else getattr(model, "name", type(model).__name__)
