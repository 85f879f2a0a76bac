"""The evaluation harness: run a method or a model over a task's items and score each.

- **flag tuning**: every program (a dataset split's records, rebuilt from their input
  IR, or the .c/.ll/.bc files of a directory) goes through
  :func:`llmcompiler.search.tuner.optimize` in one Evaluator. *With fallback* is the
  tuner's result (never worse than -Oz). *Without fallback* exists for method "model"
  only: the smallest size among the model's proposals that compiled and passed the
  tuner's checks, even when larger than -Oz; a program with no such proposal counts as
  -Oz (improvement 0) and is counted in ``no_valid_proposal``. (For the search methods
  -Oz is one of the lists searched, so there is nothing to fall back from.)
- **emulation** and **disassembly**: every record of a dataset split; its prompt goes
  to the text model and the answer is scored by :mod:`llmcompiler.tasks`.

An item that cannot be evaluated (a program that does not load, -Oz failing, the model
failing, a prompt longer than the model's context) gives a row with ``error`` and the
run goes on. A model's IR is only ever parsed by LLVM tools in their own processes (see
:mod:`llmcompiler.tasks.disassembly`), so IR that crashes LLVM or never finishes fails
that candidate, with the reason, and the run goes on. Results are not cached, so
evaluations and seconds are what the run cost.

A text task's row keeps the model's raw answers (``answers``: ``text``, cut to
ANSWER_CHARS characters, ``truncated`` and ``chars``, the full length) unless the
configuration says ``answers=False``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from llmcompiler.errors import InputError, LLMCError, LLVMNotFoundError
from llmcompiler.evaluate import Evaluator, default_jobs
from llmcompiler.evaluation.metrics import (
    disassembly_summary,
    emulation_summary,
    exact_match,
    flag_tuning_summary,
)
from llmcompiler.model.base import GenerationConfig, TextModel
from llmcompiler.program import SUPPORTED, load_program, program_from_ir
from llmcompiler.search.coreset import load_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tuner import TuneConfig, optimize
from llmcompiler.tasks.disassembly import score_answers
from llmcompiler.tasks.emulation import CompilerOutput, score_answer

TASKS = ("flag-tuning", "emulation", "disassembly")
METHODS = ("model", "local", "greedy", "random", "oz")
DEFAULT_SECONDS = 5.0  # search time per program when neither budget is given
ANSWER_CHARS = 20_000  # characters of each answer kept in a row (answers can be 200,000)
Progress = Callable[[Iterable, int, str], Iterable]
SUMMARIES = {"emulation": emulation_summary, "disassembly": disassembly_summary}
#: the record fields each text task reads
FIELDS = {
    "emulation": ("prompt", "output", "output_instcount", "output_size"),
    "disassembly": ("prompt", "asm"),
}


def no_progress(iterable: Iterable, total: int, desc: str) -> Iterable:
    return iterable


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run.

    Attributes:
        task: "flag-tuning", "emulation" or "disassembly".
        data: a dataset directory (``llmc dataset build``); its ``split`` is evaluated.
        bench: a directory of .c/.ll/.bc programs (flag tuning only).
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
        """Raises InputError for a configuration that cannot run."""
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
            split_path(self.data, self.split)
        elif not Path(self.bench).is_dir():
            raise InputError(f"{self.bench}: no such directory")

    @property
    def k(self) -> int:
        if self.candidates is not None:
            return self.candidates
        return 4 if self.task == "flag-tuning" else 1


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
        return sum("error" in r for r in self.rows)

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "config": self.config,
            "model": self.model,
            "summary": self.summary,
            "rows": list(self.rows),
        }


# -- items ------------------------------------------------------------------------


def split_path(data: str | Path, split: str) -> Path:
    """The file of ``split`` in dataset directory ``data``.

    Raises:
        InputError: no such directory or split.
    """
    root = Path(data)
    if not root.is_dir():
        raise InputError(f"{root}: no such dataset directory")
    path = root / f"{split}.jsonl"
    if not path.is_file():
        have = sorted(p.stem for p in root.glob("*.jsonl") if p.stem != "errors")
        raise InputError(f"{root}: no split {split!r} (splits: {', '.join(have) or 'none'})")
    return path


def read_records(data: str | Path, split: str, tasks: tuple[str, ...]) -> list[dict]:
    """The records of ``split`` in dataset directory ``data``.

    Raises:
        InputError: not a dataset directory, a dataset of another task, no such
            split, or a line that is not a JSON record.
    """
    path = split_path(data, split)
    root = path.parent
    manifest = root / "manifest.json"
    if manifest.is_file():
        try:
            task = json.loads(manifest.read_text()).get("task")
        except (OSError, ValueError) as err:
            raise InputError(f"{manifest}: cannot read the manifest: {err}") from None
        if task is not None and task not in tasks:
            raise InputError(f"{root}: a {task} dataset; this needs {' or '.join(tasks)}")
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise InputError(f"{path}:{number}: not a JSON record: {err}") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{number}: not a JSON object")
            records.append(record)
    return records


def _limited(items: list, limit: int | None) -> list:
    return items if limit is None else items[:limit]


def _record_id(record: dict) -> str:
    name = f"{record.get('program', '?')}#{record.get('index', 0)}"
    return f"{name}:{record['variant']}" if "variant" in record else name


def tuning_items(config: EvalConfig) -> list[tuple[str, Callable, float | None]]:
    """(name, program loader, label improvement %) per program to tune.

    Dataset records need ``input_ir`` (flag-tuning and emulation datasets); programs
    seen twice (same hash) are tuned once.

    Raises:
        InputError: no such directory, no programs, or records without input IR.
    """
    items = []
    if config.bench is not None:
        root = Path(config.bench)
        if not root.is_dir():
            raise InputError(f"{root}: no such directory")
        paths = sorted(p for p in root.iterdir() if p.is_file() and p.suffix in SUPPORTED)
        for path in paths:
            items.append((str(path), lambda path=path: load_program(path), None))
    else:
        seen = set()
        for record in read_records(config.data, config.split, ("flag-tuning", "emulation")):
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
    return _limited(items, config.limit)


# -- flag tuning --------------------------------------------------------------------


def tune_config(config: EvalConfig, model=None) -> TuneConfig:
    """The TuneConfig of every program of a flag-tuning run (``model``: a PassListModel)."""
    if config.method == "oz":  # -Oz measured alone: no search, no coreset, no model
        return TuneConfig(budget=Budget(None, 0), seed=config.seed, coreset=())
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


def evaluate_flag_tuning(
    config: EvalConfig, model=None, progress: Progress = no_progress
) -> EvalRun:
    """Tune every program of the run; see the module docstring.

    ``model`` is the PassListModel (required for method "model").

    Raises:
        InputError: bad configuration or no programs.
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
                result = optimize(evaluator, load(), tune)
            except LLVMNotFoundError:
                raise
            except LLMCError as err:
                rows.append({"program": name, "error": str(err)})
                continue
            rows.append(_tuning_row(name, result, config.method == "model", label))
    summary = flag_tuning_summary(rows, config.method == "model")
    return EvalRun(config.task, _config_json(config, tune), _name(model), tuple(rows), summary)


def _tuning_row(name: str, result, model_only: bool, label: float | None) -> dict:
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


# -- text tasks ---------------------------------------------------------------------


def _answers(
    model: TextModel, prompts: list[str], generation: GenerationConfig, batch: int
) -> Iterator[tuple[list[str] | None, str | None, float]]:
    """(answers, error, generation seconds) per prompt, asking ``batch`` prompts at once."""
    for start in range(0, len(prompts), batch):
        chunk = prompts[start : start + batch]
        ready: dict[int, tuple] = {}
        send = []
        for i, prompt in enumerate(chunk):
            try:
                tokens = model.count_tokens(prompt)
            except Exception as err:  # noqa: BLE001 - a back end's tokenizer failure
                ready[i] = (None, f"tokenizer failed: {type(err).__name__}: {err}", 0.0)
                continue
            if tokens >= model.max_context:
                why = f"the prompt is {tokens} tokens; the model's context is {model.max_context}"
                ready[i] = (None, why, 0.0)
            else:
                send.append(i)
        if send:
            began = time.monotonic()
            try:
                out = model.generate([chunk[i] for i in send], generation)
                if len(out) != len(send):
                    raise ValueError(f"{len(out)} answer lists for {len(send)} prompts")
                each = (time.monotonic() - began) / len(send)
                ready.update({i: (list(a), None, each) for i, a in zip(send, out)})
            except Exception as err:  # noqa: BLE001 - whatever the back end raises
                why = f"generation failed: {type(err).__name__}: {err}"
                ready.update({i: (None, why, 0.0) for i in send})
        for i in range(len(chunk)):
            yield ready[i]


def _text_run(config: EvalConfig, model: TextModel, progress: Progress, score) -> EvalRun:
    config.check()
    records = _limited(read_records(config.data, config.split, (config.task,)), config.limit)
    if not records:
        raise InputError(f"{config.data}: split {config.split!r} has no records")
    missing = [f for f in FIELDS[config.task] if any(f not in r for r in records)]
    if missing:
        raise InputError(f"{config.data}: records without {', '.join(missing)}")
    generation = GenerationConfig(k=config.k, max_new_tokens=config.max_new_tokens)
    stream = zip(records, _answers(model, [r["prompt"] for r in records], generation, config.batch))
    rows = []
    for record, (answers, error, seconds) in progress(stream, len(records), config.task):
        row = {"id": _record_id(record)}
        if error is not None:
            rows.append({**row, "error": error})
            continue
        began = time.monotonic()
        row.update(score(record, answers, config.timeout))
        row["seconds"] = seconds + time.monotonic() - began
        if config.answers:
            row["answers"] = [answer_json(a) for a in answers]
        rows.append(row)
    summary = SUMMARIES[config.task](rows)
    settings = {**asdict(config), "generation": asdict(generation)}
    return EvalRun(config.task, settings, _name(model), tuple(rows), summary)


def answer_json(answer: str, limit: int = ANSWER_CHARS) -> dict:
    """One raw answer for a row: ``text`` (its first ``limit`` characters), ``truncated``
    (it was longer) and ``chars`` (its full length). Not text: its ``repr``."""
    text = answer if isinstance(answer, str) else repr(answer)
    return {"text": text[:limit], "truncated": len(text) > limit, "chars": len(text)}


def _score_emulation(record: dict, answers: list[str], timeout: float) -> dict:
    real = CompilerOutput(record["output"], record["output_instcount"], record["output_size"])
    answer = answers[0] if answers else ""
    result = score_answer(answer, real, record.get("variant", "ir"), timeout=timeout)
    row = {"passes": record.get("passes"), **result.to_json()}
    reason = row.pop("error")  # "error" marks an item that could not be evaluated
    if reason is not None:
        row["reason"] = reason
    return row


def _score_disassembly(record: dict, answers: list[str], timeout: float) -> dict:
    result = score_answers(record["asm"], answers, timeout)
    best = result.best_candidate
    row = {
        "round_trip": result.round_trip,
        "bleu": best.bleu if best else 0.0,
        "exact_match": bool(best and best.exact_match),
        "best": result.best,
        "candidates": len(result.candidates),
        "round_trips": sum(c.round_trip for c in result.candidates),
    }
    if "ir" in record and best is not None:
        row["ir_exact_match"] = exact_match(best.ir or "", record["ir"], "ir")
    if best is None:
        first = result.candidates[0] if result.candidates else None
        row["reason"] = first.error if first else "the model gave no answer"
    return row


def evaluate_emulation(config: EvalConfig, model: TextModel, progress=no_progress) -> EvalRun:
    """Score ``model`` on the emulation records of the run.

    Raises:
        InputError: bad configuration, not an emulation dataset, no records.
    """
    return _text_run(config, model, progress, _score_emulation)


def evaluate_disassembly(config: EvalConfig, model: TextModel, progress=no_progress) -> EvalRun:
    """Score ``model`` on the disassembly records of the run.

    Raises:
        InputError: bad configuration, not a disassembly dataset, no records.
    """
    return _text_run(config, model, progress, _score_disassembly)


def _name(model) -> str | None:
    return None if model is None else getattr(model, "name", type(model).__name__)


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
