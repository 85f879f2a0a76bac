"""Flag tuning records: given a module's IR, the pass list that makes its object smallest,
that size, and the IR it gives.

Labels come from an autotuning database (``llmc autotune --db``; the stored best list,
already minimized by the tuner) or from a search run here (:func:`optimize`). Either
way the list is measured again now, with llc-19, so every number in a record is what
the tools give today; -Oz is measured beside it so improvement can be computed. The
tuner never returns a list worse than -Oz: where it found nothing better the label is
``default<Oz>`` and the improvement 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from llmcompiler import prompts
from llmcompiler.datasets.measure import ModuleError, ir_text, measure, pass_count
from llmcompiler.engine import Evaluator
from llmcompiler.errors import LLMCError
from llmcompiler.pipeline import OZ
from llmcompiler.program import Program
from llmcompiler.search.run import Budget
from llmcompiler.search.tunedb import TuneDB
from llmcompiler.search.tuner import TuneConfig, optimize


@dataclass(frozen=True)
class FlagTuningConfig:
    """Where flag-tuning labels come from: a database, or a search per module.

    Attributes:
        tune_db: autotuning database of the same corpus (rows keyed by program hash).
        search_seconds: without a database, search each module this long (wall time,
            so labels can differ between builds).
        search_evaluations: without a database, search each module for this many
            evaluations (reproducible: the search is deterministic for a seed and an
            evaluation budget).
    """

    tune_db: str | None = None
    search_seconds: float | None = None
    search_evaluations: int | None = None

    def __post_init__(self) -> None:
        searching = self.search_seconds is not None or self.search_evaluations is not None
        if (self.tune_db is None) == (not searching):
            raise ValueError(
                "flag tuning needs labels from exactly one place: "
                "an autotuning database (--tune-db) or a search budget (--budget/--evaluations)"
            )


def read_labels(path: str | os.PathLike) -> tuple[dict[str, str], dict]:
    """The best pass list per program hash in an autotuning database, and its settings.

    Only programs tuned successfully are labels (status ``ok``).

    Raises:
        LLMCError: the file is missing or not an autotuning database.
    """
    if not os.path.isfile(path):
        raise LLMCError(f"{path}: no such autotuning database")
    db = TuneDB(path)
    try:
        labels = {
            row["hash"]: row["best_pipeline"]
            for row in db.programs()
            if row["status"] == "ok" and row["best_pipeline"]
        }
        settings = {k: db.meta(k) for k in ("objective", "budget_per_program", "corpus")}
    finally:
        db.close()
    return labels, {k: v for k, v in settings.items() if v is not None}


def flag_tuning_records(
    evaluator: Evaluator,
    program: Program,
    seed: int,
    config: FlagTuningConfig,
    label: str | None = None,
) -> list[dict]:
    """The module's record (a list of one).

    ``label`` is the stored best list; without one the module is searched here.

    Record fields: ``index`` (0), ``passes``, ``pass_count``, ``label_source``
    ("tune-db" or "search"), ``input_ir``, ``input_instcount``, ``input_size``,
    ``output_ir``, ``instcount``, ``size``, ``oz_instcount``, ``oz_size``,
    ``improvement_pct`` (over -Oz, in binary size), ``prompt``, ``completion``.

    Raises:
        ModuleError: the module, -Oz or the label fails to evaluate now.
    """
    source = "tune-db"
    if label is None:
        source = "search"
        tune = TuneConfig(  # a label is an opt pass list: one list for the whole module
            budget=Budget(config.search_seconds, config.search_evaluations),
            seed=seed,
            per_function=False,
        )
        try:
            label = optimize(evaluator, program, tune).pipeline
        except LLMCError as err:
            raise ModuleError(f"search failed: {err}") from None
    given = measure(evaluator, program, "", "ir")
    oz = measure(evaluator, program, OZ, None)
    best = measure(evaluator, program, label, "ir")
    input_ir, output_ir = ir_text(given, program), ir_text(best, program)
    improvement = (oz.size - best.size) / oz.size * 100 if oz.size else 0.0
    return [
        {
            "index": 0,
            "passes": label,
            "pass_count": pass_count(label),
            "label_source": source,
            "input_ir": input_ir,
            "input_instcount": given.instcount,
            "input_size": given.size,
            "output_ir": output_ir,
            "instcount": best.instcount,
            "size": best.size,
            "oz_instcount": oz.instcount,
            "oz_size": oz.size,
            "improvement_pct": round(improvement, 4),
            "prompt": prompts.flag_tuning_prompt(input_ir),
            "completion": prompts.flag_tuning_answer(label, best.instcount, best.size, output_ir),
        }
    ]
