"""Emulation and disassembly evaluated: every record of a dataset split goes to the
text model and its answers are scored by :mod:`llmcompiler.tasks`.

A record that cannot be evaluated (the model failing, a prompt longer than the model's
context) gives a row with ``error`` and the run goes on. A model's IR is only ever
parsed by LLVM tools in their own processes (see :mod:`llmcompiler.tasks.disassembly`),
so IR that crashes LLVM or never finishes fails that candidate, with the reason, and
the run goes on.

A row keeps the model's raw answers (``answers``: ``text``, cut to ANSWER_CHARS
characters, ``truncated`` and ``chars``, the full length) unless the configuration says
``answers=False``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

from llmcompiler.datasets import store
from llmcompiler.errors import InputError
from llmcompiler.harness.config import EvalConfig, EvalRun, Progress, model_name, no_progress
from llmcompiler.harness.metrics import disassembly_summary, emulation_summary, exact_match
from llmcompiler.model.base import GenerationConfig, TextModel
from llmcompiler.tasks.disassembly import score_answers
from llmcompiler.tasks.emulation import CompilerOutput, score_answer

ANSWER_CHARS = 20_000  # characters of each answer kept in a row (answers can be 200,000)
#: (record, answers, timeout) -> the row's score fields
Score = Callable[[dict, list[str], float], dict]
SUMMARIES = {"emulation": emulation_summary, "disassembly": disassembly_summary}
#: the record fields each text task reads
FIELDS = {
    "emulation": ("prompt", "output", "output_instcount", "output_size"),
    "disassembly": ("prompt", "asm"),
}


def _record_id(record: dict) -> str:
    name = f"{record.get('program', '?')}#{record.get('index', 0)}"
    return f"{name}:{record['variant']}" if "variant" in record else name


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


def evaluate_text(
    config: EvalConfig, model: TextModel, progress: Progress = no_progress
) -> EvalRun:
    """Score ``model`` on the records of the run (emulation or disassembly, as
    ``config.task`` says); return the run: a row per record and the summary.

    Raises:
        InputError: bad configuration, not a text task, a dataset of another task,
            records without the task's fields, or no records.
    """
    config.check()
    if config.task not in SCORES:
        raise InputError(f"{config.task} is not evaluated with a text model")
    records = config.limited(store.read_split(config.data, config.split, (config.task,)))
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
        row.update(SCORES[config.task](record, answers, config.timeout))
        row["seconds"] = seconds + time.monotonic() - began
        if config.answers:
            row["answers"] = [answer_json(a) for a in answers]
        rows.append(row)
    summary = SUMMARIES[config.task](rows)
    settings = {**asdict(config), "generation": asdict(generation)}
    return EvalRun(config.task, settings, model_name(model), tuple(rows), summary)


def answer_json(answer: str, limit: int = ANSWER_CHARS) -> dict:
    """Return one raw answer for a row: ``text`` (its first ``limit`` characters), ``truncated``
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


#: how each text task scores one record's answers
SCORES: dict[str, Score] = {"emulation": _score_emulation, "disassembly": _score_disassembly}
