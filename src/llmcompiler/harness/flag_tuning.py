"""Flag tuning evaluated: every program through the tuner, scored against -Oz.

Every program (a dataset split's records, rebuilt from their input IR, or the
.c/.ll/.bc files of a directory) goes through :func:`llmcompiler.search.tuner.optimize`
in one Evaluator. *With fallback* is the tuner's result (never worse than -Oz).
*Without fallback* exists for method "model" only: the smallest size among the model's
proposals that compiled and passed the tuner's checks, even when larger than -Oz; a
program with no such proposal counts as -Oz (improvement 0) and is counted in
``no_valid_proposal``. (For the search methods -Oz is one of the lists searched, so
there is nothing to fall back from.)

A program that cannot be evaluated (it does not load, -Oz fails) gives a row with
``error`` and the run goes on. Results are not cached, so evaluations and seconds are
what the run cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from llmcompiler.datasets import store
from llmcompiler.engine import Evaluator, default_jobs
from llmcompiler.errors import InputError, LLMCError, LLVMNotFoundError
from llmcompiler.harness.config import EvalConfig, EvalRun, Progress, model_name, no_progress
from llmcompiler.harness.metrics import flag_tuning_summary
from llmcompiler.model.base import PassListModel
from llmcompiler.program import SUPPORTED, load_program, program_from_ir
from llmcompiler.search.coreset import coreset_for, load_coreset
from llmcompiler.search.result import TuneResult
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize

DEFAULT_SECONDS = 5.0  # search time per program when neither budget is given


def tuning_items(config: EvalConfig) -> list[tuple[str, Callable, float | None]]:
    """Return (name, program loader, label improvement % or None) per program to tune.

    Dataset records need ``input_ir`` (flag-tuning and emulation datasets); programs
    seen twice (same hash) are tuned once.

    Raises:
        InputError: no such directory or split, a dataset of another task, no
            programs, or records without input IR.
    """
    items = []
    if config.bench is not None:
        root = Path(config.bench)
        if not root.is_dir():
            raise InputError(f"{root}: no such directory")
        paths = sorted(p for p in root.iterdir() if p.is_file() and p.suffix in SUPPORTED)
        flags = config.target_flags
        for path in paths:
            items.append((str(path), lambda p=path: load_program(p, flags=flags), None))
    else:
        seen = set()
        for record in store.read_split(config.data, config.split, ("flag-tuning", "emulation")):
            if "input_ir" not in record:
                raise InputError(f"{config.data}: records have no input_ir field")
            key = record.get("hash") or record["input_ir"]
            if key in seen:
                continue
            seen.add(key)
            name = str(record.get("program", f"record{len(items)}"))
            ir = record["input_ir"].encode()
            label = record.get("improvement_pct")
            items.append((name, lambda ir=ir, name=name: program_from_ir(ir, name), label))
    if not items:
        where = config.bench or f"{config.data} ({config.split})"
        raise InputError(f"{where}: no programs to evaluate")
    return config.limited(items)


def tune_config(config: EvalConfig, model: PassListModel | None = None) -> TuneConfig:
    """Return the TuneConfig of every program of a flag-tuning run."""
    if config.method == "oz":  # -Oz measured alone: no search, no coreset, no model
        return TuneConfig(budget=Budget(None, 0), seed=config.seed, coreset=(), per_function=False)
    seconds = config.budget
    if seconds is None and config.evaluations is None:
        seconds = DEFAULT_SECONDS
    tune = TuneConfig(
        budget=Budget(seconds, config.evaluations),
        seed=config.seed,
        method=config.method,
        model=model,
        candidates=config.k,
    )
    if config.method != "model":
        tune = replace(tune, coreset=load_coreset().pipelines)
    return tune


def _for_target(tune: TuneConfig, triple: str) -> TuneConfig:
    """The run's config with the shipped coreset learned for the program's target (the
    x86-64 one where none was learned), when the run uses the coreset at all."""
    if not tune.coreset:
        return tune
    return replace(tune, coreset=coreset_for(triple, tune.metric).pipelines)


def evaluate_flag_tuning(
    config: EvalConfig, model: PassListModel | None = None, progress: Progress = no_progress
) -> EvalRun:
    """Tune every program of the run (see the module docstring) and return the run: a
    row per program and the summary.

    ``model`` is required for method "model".

    Raises:
        InputError: bad configuration, no programs, or no model for method "model".
        LLVMNotFoundError: LLVM 19 is missing.
    """
    config.check()
    if config.method == "model" and model is None:
        raise InputError('method "model" needs a pass-list model')
    items = tuning_items(config)
    tune = tune_config(config, model)
    rows = []
    jobs = config.jobs or default_jobs()
    with Evaluator(jobs=jobs, timeout=config.timeout) as evaluator:
        for name, load, label in progress(items, len(items), "tuning"):
            try:
                program = load()
                result = optimize(evaluator, program, _for_target(tune, program.triple))
            except LLVMNotFoundError:
                raise
            except LLMCError as err:
                rows.append({"program": name, "error": str(err)})
                continue
            row = _tuning_row(name, result, config.method == "model", label)
            rows.append({**row, "triple": program.triple})
    summary = flag_tuning_summary(rows, config.method == "model")
    return EvalRun(config.task, _config_json(config, tune), model_name(model), tuple(rows), summary)


def _tuning_row(name: str, result: TuneResult, model_only: bool, label: float | None) -> dict:
    row = {
        "program": name,
        "oz_size": result.oz.size,
        "size": result.best.size,
        "improvement_pct": result.improvement_pct,
        "pipeline": result.pipeline,
        "evaluations": result.evaluations,
        "seconds": result.seconds,
    }
    if model_only:
        valid = [p.size for p in result.proposals if p.size is not None and p.error is None]
        row["proposals"] = len(result.proposals)
        row["valid_proposals"] = len(valid)
        row["no_fallback_size"] = min(valid) if valid else result.oz.size
        oz = result.oz.size
        row["no_fallback_improvement_pct"] = (oz - row["no_fallback_size"]) / oz * 100 if oz else 0
    if label is not None:
        row["label_improvement_pct"] = label
    return row


def _config_json(config: EvalConfig, tune: TuneConfig) -> dict:
    out = asdict(config)
    out["tune"] = {
        "method": tune.method,
        "budget": {"seconds": tune.budget.seconds, "evaluations": tune.budget.evaluations},
        "coreset_lists": len(tune.coreset),
        "candidates": tune.candidates if tune.model is not None else None,
        "seed": tune.seed,
    }
    return out
