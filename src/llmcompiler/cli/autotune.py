"""``llmc autotune`` and ``llmc coreset build``: tune a corpus into a database, then
distil its best pass lists into a coreset."""

from __future__ import annotations

import argparse
import json
import os
import sys

from llmcompiler.cli import args as common
from llmcompiler.cli.report import error, note, printable, progress, status
from llmcompiler.errors import InputError, LLMCError, UsageError
from llmcompiler.search.autotune import autotune
from llmcompiler.search.coreset import build_coreset, coreset_for, load_coreset, save_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tunedb import TuneDB
from llmcompiler.search.tuner import TuneConfig


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``autotune`` and ``coreset``."""
    p = subparsers.add_parser("autotune", help="tune a corpus, or a build, into a database")
    p.add_argument("files", nargs="*", metavar="PROGRAM", help=".c .cc .cpp .ll .bc files")
    common.add_preprocessor(p)
    common.add_target(p)
    p.add_argument(
        "--db",
        metavar="SQLITE",
        help="results database (resumed); with --from-build or --compile-commands the "
        "llmc cc tuning database (default: $LLMC_CC_DB, else ~/.cache/llmcompiler/tuning.sqlite)",
    )
    p.add_argument(
        "--from-build",
        action="store_true",
        help="tune again the modules llmc cc compiled (its tuning database's compile log)",
    )
    p.add_argument(
        "--compile-commands",
        metavar="JSON",
        help="tune the modules of a compile_commands.json into the llmc cc tuning database",
    )
    common.add_budget(
        p,
        10.0,
        evaluations_help="also stop after N evaluations (with a large time budget: reproducible)",
        per_program=True,
    )
    common.add_objective(p)
    common.add_seed(p)
    common.add_jobs(p, "programs tuned at once")
    p.add_argument(
        "--validate", action="store_true", help="keep only lists that pass differential testing"
    )
    p.add_argument("--coreset", metavar="JSON", help="pass lists to try first (default: none)")
    p.add_argument("--corpus", default="", help="a description of the corpus, stored in the db")
    common.add_ray(p)
    common.add_cache(p, opt_in_help="SQLite evaluation cache shared by the local processes")
    p.set_defaults(run=run_autotune)

    c = subparsers.add_parser("coreset", help="build or show a coreset of pass lists")
    c.add_argument("action", choices=("build", "show"))
    c.add_argument("--db", metavar="SQLITE", help="autotuning database (build)")
    c.add_argument("-k", type=common.positive_int, default=50, help="number of lists (build)")
    c.add_argument("-o", "--output", metavar="JSON", help="coreset file to write (build)")
    c.add_argument("--note", default="", help="provenance note stored in the file")
    c.add_argument(
        "--cross",
        action="store_true",
        help="build: measure the best candidates on every program of the database and "
        "cover those measures (lists that help many programs first)",
    )
    c.add_argument(
        "--pool",
        type=common.positive_int,
        default=4,
        help="build --cross: candidates measured per coreset list (default 4)",
    )
    c.add_argument(
        "--cost-weight",
        type=common.non_negative_float,
        default=0.0,
        metavar="W",
        help="build --cross: rank lists by gain / (time / -Oz's time)**W, so slow lists "
        "come later or not at all (default 0: gain only)",
    )
    c.add_argument("--jobs", "-j", type=common.positive_int, default=None, help="workers")
    common.add_cache(
        c,
        opt_in_help="build --cross: SQLite evaluation cache (a rerun, or `llmc ranker collect` "
        "over the same lists, reads the measures from it)",
    )
    c.add_argument(
        "--objective",
        choices=("size", "instcount"),
        default="size",
        help="show: the shipped x86-64 coreset learned for this objective",
    )
    c.add_argument("file", nargs="?", metavar="JSON", help="coreset to show (default: shipped)")
    c.set_defaults(run=run_coreset)


def run_autotune(args: argparse.Namespace) -> int:
    """Tune every program not yet in ``--db``; print a JSON line per program as it ends.

    Returns 0, or 1 when some file could not be loaded (tuning errors are reported and
    stored in the database). A ``--db`` that does not exist yet is created, with a note.

    Raises:
        UsageError: a new ``--db`` cannot be written where it is named.
        LLMCError: the database or the coreset cannot be read.
    """
    if args.from_build or args.compile_commands:
        return run_from_build(args)
    if not args.files or not args.db:
        raise UsageError("autotune needs PROGRAM files and --db (or --from-build)")
    if not os.path.exists(args.db):
        common.check_writable(args.db)
        note(f"creating a new database {args.db}")
    jobs = common.job_count(args)
    config = TuneConfig(
        budget=Budget(args.budget, args.evaluations),
        metric=args.objective,
        seed=args.seed,
        validate=args.validate,
        coreset=load_coreset(args.coreset).pipelines if args.coreset else (),
        per_function=False,  # labels for coresets and the ranker: lists for any module
    )
    db = TuneDB(args.db)
    db.set_meta("budget_per_program", args.budget)
    db.set_meta("objective", args.objective)
    if args.corpus:
        db.set_meta("corpus", args.corpus)
    inputs = common.Inputs(args, jobs)
    programs = list(inputs)
    unique = list({p.hash: p for p in programs}.values())
    skipped = len(db.done() & {p.hash for p in unique})
    if skipped:
        status(f"resuming: {skipped} of {len(unique)} programs already in {args.db}")
    rows = autotune(unique, db, config, jobs=jobs, cache_path=args.cache, ray_address=args.ray)
    for row in progress(rows, len(unique) - skipped, "autotuning"):
        if row["status"] == "error":
            error(str(row["error"]))
        else:
            print(
                json.dumps(
                    {
                        k: row.get(k)
                        for k in (
                            "name",
                            "status",
                            "oz_size",
                            "size",
                            "improvement_pct",
                            "evaluations",
                            "validated",
                            "pipeline",
                        )
                    }
                ),
                flush=True,
            )
    summary = db.programs()
    ok = [r for r in summary if r["status"] == "ok"]
    mean = sum(r["improvement_pct"] for r in ok) / len(ok) if ok else 0.0
    print(
        f"{len(summary)} programs in {printable(args.db)}: {len(ok)} tuned, mean improvement "
        f"over -Oz {mean:.2f}%",
        file=sys.stderr,
    )
    db.close()
    return 1 if inputs.failed else 0


def run_from_build(args: argparse.Namespace) -> int:
    """Tune the modules of a build (``--from-build``: the llmc cc tuning database's log;
    ``--compile-commands``) into that database (:mod:`llmcompiler.driver.retune`); print
    a line per module and a summary. Returns 0, or 1 when some module failed.

    Raises:
        UsageError: PROGRAM files or options that only corpus tuning takes.
        InputError: --from-build with no database, or an unreadable --compile-commands.
        LLMCError: the tuning database cannot be read or written.
    """
    from llmcompiler.driver import retune as build
    from llmcompiler.driver.db import TuningDB, database_path

    if args.files or args.validate:
        raise UsageError("--from-build and --compile-commands take no PROGRAM or --validate")
    path = args.db or str(database_path())
    if args.from_build and not os.path.exists(path):
        raise InputError(f"{path}: no such tuning database (build with llmc cc first)")
    commands = []
    if args.compile_commands:
        commands = build.commands_from_compile_commands(args.compile_commands)
    rows = []
    with TuningDB(path) as db:
        if args.from_build:
            commands = build.commands_from_log(db) + commands
        jobs = common.job_count(args)
        tuned = build.retune(commands, db, args.objective, args.budget, jobs, args.ray)
        for row in progress(tuned, len(commands), "autotuning"):
            rows.append(row)
            if row.error:
                error(f"{row.name}: {row.error}")
                continue
            kept = "stored" if row.stored else "kept the stored list"
            gain = f"{row.improvement_pct:.2f}% smaller"
            print(
                f"{printable(row.name)}: {row.before} -> {row.after} ({gain}, {kept})", flush=True
            )
    ok = [r for r in rows if not r.error]
    before, after = sum(r.before or 0 for r in ok), sum(r.after or 0 for r in ok)
    print(
        f"{len(ok)} modules in {printable(path)}: {sum(r.stored for r in ok)} new or better "
        f"lists stored; "
        f"{before} -> {after} ({100.0 * (before - after) / (before or 1):.2f}% smaller); "
        f"{len(rows) - len(ok)} failed",
        file=sys.stderr,
    )
    return 1 if len(ok) < len(rows) else 0


def run_coreset(args: argparse.Namespace) -> int:
    """Show a coreset, or build one from an autotuning database; returns 0.

    Raises:
        UsageError: build without --db or -o, or with an -o that cannot be written.
        InputError: build with a --db that does not exist.
        LLMCError: the database or coreset file cannot be read, or -o cannot be written.
    """
    if args.action == "show":
        coreset = load_coreset(args.file) if args.file else coreset_for("", args.objective)
        print(json.dumps(coreset.provenance, indent=2))
        for pipeline in coreset.pipelines:
            print(pipeline)
        return 0
    if not args.db or not args.output:
        raise UsageError("coreset build needs --db and -o")
    common.check_writable(args.output)
    if not os.path.exists(args.db):  # TuneDB would make an empty one
        raise InputError(f"{args.db}: no such file")
    db = TuneDB(args.db)
    try:
        if args.cross:
            from llmcompiler.engine import Evaluator
            from llmcompiler.search.coreset import CrossEvaluation

            cache = common.open_cache(args.cache)
            with (
                Evaluator(jobs=common.job_count(args), cache=cache) as ev,
                progress(None, None, "measuring on every program", unit="program") as bar,
            ):

                def advance(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(1)

                cross = CrossEvaluation(ev, pool=args.pool, progress=advance)
                try:
                    coreset, entries = build_coreset(
                        db, args.k, args.note, cross, cost_weight=args.cost_weight
                    )
                finally:
                    if cache is not None:
                        cache.close()
        else:
            coreset, entries = build_coreset(db, args.k, args.note)
    finally:
        db.close()
    try:
        save_coreset(args.output, coreset, entries)
    except OSError as err:
        raise LLMCError(f"{args.output}: cannot write: {err.strerror or err}") from None
    print(
        f"{len(entries)} lists from {coreset.provenance['programs']} programs, covering a "
        f"mean {coreset.provenance['mean_covered_improvement_pct']:.2f}% improvement; "
        f"written to {printable(args.output)}",
        file=sys.stderr,
    )
    return 0
