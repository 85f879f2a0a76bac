"""``llmc eval TASK``: evaluate a method or a model on a task; write results.json and
report.html (see :mod:`llmcompiler.harness` for what is measured)."""

from __future__ import annotations

import argparse
from pathlib import Path

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, progress
from llmcompiler.harness.config import METHODS, TASKS, EvalConfig, EvalRun
from llmcompiler.harness.flag_tuning import evaluate_flag_tuning
from llmcompiler.harness.text_tasks import ANSWER_CHARS, evaluate_text
from llmcompiler.model import loading


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eval``."""
    p = subparsers.add_parser(
        "eval", help="evaluate a method or model on a task: JSON + HTML report"
    )
    p.add_argument("task", choices=TASKS, help="the task to evaluate")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="DATASET_DIR", help="a dataset (llmc dataset build)")
    source.add_argument(
        "--bench", metavar="DIR", help="a directory of .c/.ll/.bc programs (flag tuning)"
    )
    p.add_argument("--split", default="test", help="the dataset split to evaluate (default test)")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="model",
        help="flag tuning: the model's pass lists (default), search as llmc optimize "
        "(local, greedy, random), or -Oz alone (oz)",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="builtin|PATH",
        help="the model (default builtin; the text tasks need a checkpoint directory); with "
        "a search method, its lists are tried first",
    )
    p.add_argument(
        "--candidates",
        type=int,
        default=None,
        metavar="K",
        help="answers per item (default: 4 for flag tuning, 1 otherwise)",
    )
    common.add_budget(
        p,
        None,
        "search time per program (default 5, or none with --evaluations)",
        "search evaluations",
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="the first N items only")
    common.add_seed(p)
    common.add_target(p)
    common.add_jobs(p)
    common.add_timeout(
        p, help="seconds per evaluation (text tasks: per LLVM tool run on one answer)"
    )
    p.add_argument(
        "--max-new-tokens", type=int, default=2048, metavar="N", help="longest model answer"
    )
    p.add_argument("--batch", type=int, default=1, metavar="N", help="prompts per generate call")
    p.add_argument("--device", default=None, help="where a text model runs: cpu or cuda")
    p.add_argument(
        "--no-answers",
        dest="answers",
        action="store_false",
        help="leave the text model's raw answers out of results.json (kept by default, "
        f"each cut to {ANSWER_CHARS} characters)",
    )
    p.add_argument("--report", required=True, metavar="OUT_DIR", help="where the report goes")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation, write the report, print the summary.

    Returns 0, or 1 when some item could not be evaluated (its row says why).

    Raises:
        InputError: bad options or data.
        ModelError: the model cannot be loaded.
    """
    config = EvalConfig(
        task=args.task,
        data=args.data,
        bench=args.bench,
        target_flags=tuple(common.compile_flags(args)),
        split=args.split,
        method=args.method,
        model=args.model,
        candidates=args.candidates,
        budget=args.budget,
        evaluations=args.evaluations,
        limit=args.limit,
        seed=args.seed,
        jobs=common.job_count(args),
        timeout=args.timeout,
        max_new_tokens=args.max_new_tokens,
        batch=args.batch,
        device=args.device,
        answers=args.answers,
    )
    config.check()  # before a model is loaded
    model = None
    try:
        if config.task == "flag-tuning":
            if config.method == "model" or (config.model and config.method != "oz"):
                model = loading.load_pass_list_model(config.model or loading.BUILTIN, args.device)
            evaluation = evaluate_flag_tuning(config, model, progress)
        else:
            model = loading.load_text_model(config.model or loading.BUILTIN, args.device)
            evaluation = evaluate_text(config, model, progress)
    finally:
        if model is not None:
            model.close()
    from llmcompiler.harness.report import paper_table, write_report

    results, report = write_report(evaluation, args.report)
    print_summary(evaluation, paper_table(evaluation))
    print(f"results: {results}\nreport: {report}")
    if evaluation.errors:
        error(
            f"{evaluation.errors} of {len(evaluation.rows)} items could not be evaluated "
            f"(see {Path(results)})"
        )
        return 1
    return 0


def _pct(value) -> str:
    return "-" if value is None else f"{value:.2f} %"


def _num(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_summary(evaluation: EvalRun, paper: list[dict]) -> None:
    """A few lines of the summary on stdout."""
    s = evaluation.summary
    if evaluation.task == "flag-tuning":
        print(f"programs: {s['programs']} ({s['errors']} not evaluated)")
        for label, t in (
            ("with -Oz fallback", s["with_fallback"]),
            ("without fallback", s["without_fallback"]),
        ):
            if t is None or t["programs"] == 0:
                continue
            print(
                f"{label}: mean {_pct(t['mean_pct'])}, geomean {_pct(t['geomean_pct'])}, "
                f"improved/equal/worse {t['improved_pct']:.1f}/{t['equal_pct']:.1f}/"
                f"{t['worse_pct']:.1f} %, {t['evaluations']:.1f} evaluations and "
                f"{t['seconds']:.2f} s per program"
            )
    elif evaluation.task == "emulation":
        print(
            f"items: {s['items']} ({s['errors']} not evaluated); exact match "
            f"{_pct(s['exact_match_pct'])}, BLEU {_num(s['bleu_mean'])}, size MAPE "
            f"{_pct(s['size_mape'])}, IR compiles {_pct(s['compiles_pct'])}"
        )
    else:
        print(
            f"items: {s['items']} ({s['errors']} not evaluated); round trip "
            f"{_pct(s['round_trip_pct'])}, BLEU of round trips {_num(s['bleu_round_trip_mean'])}, "
            f"exact match {_pct(s['exact_match_pct'])}"
        )
    for row in paper:
        ours = row["ours"]
        text = _pct(ours) if row["unit"] == "%" else _num(ours)
        if ours is None and row.get("note"):
            text = f"- ({row['note']})"
        print(f"  {row['metric']}: ours {text}; paper {row['paper']}")
