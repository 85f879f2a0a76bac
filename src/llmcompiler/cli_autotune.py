"""``llmc autotune`` and ``llmc coreset build``: tune a corpus into a database, then
distil its best pass lists into a coreset."""

from __future__ import annotations

import json
import sys

from llmcompiler.errors import LLMCError
from llmcompiler.evaluate import default_jobs
from llmcompiler.program import load_programs
from llmcompiler.search.autotune import autotune
from llmcompiler.search.coreset import build_coreset, load_coreset, save_coreset
from llmcompiler.search.run import Budget
from llmcompiler.search.tunedb import TuneDB
from llmcompiler.search.tuner import TuneConfig


def add_autotune_arguments(p) -> None:
    p.add_argument("files", nargs="+", metavar="PROGRAM", help=".c .cc .cpp .ll .bc files")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VALUE]")
    p.add_argument("--db", required=True, metavar="SQLITE", help="results database (resumed)")
    p.add_argument("--budget-per-program", type=float, default=10.0, metavar="SECONDS")
    p.add_argument(
        "--evaluations-per-program",
        type=int,
        default=None,
        metavar="N",
        help="also stop after N evaluations (with a large time budget: reproducible)",
    )
    p.add_argument("--objective", choices=("size", "instcount"), default="size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", "-j", type=int, default=None, help="programs tuned at once")
    p.add_argument(
        "--validate", action="store_true", help="keep only lists that pass differential testing"
    )
    p.add_argument("--coreset", metavar="JSON", help="pass lists to try first (default: none)")
    p.add_argument("--corpus", default="", help="a description of the corpus, stored in the db")
    p.add_argument(
        "--ray",
        metavar="auto|ADDRESS|local",
        help="run on a Ray cluster (local: start a local Ray instance)",
    )
    p.add_argument(
        "--cache",
        default=None,
        metavar="PATH",
        help="SQLite evaluation cache shared by the local processes",
    )


def add_coreset_arguments(p) -> None:
    p.add_argument("action", choices=("build", "show"))
    p.add_argument("--db", metavar="SQLITE", help="autotuning database (build)")
    p.add_argument("-k", type=int, default=50, help="number of lists (build)")
    p.add_argument("-o", "--output", metavar="JSON", help="coreset file to write (build)")
    p.add_argument("--note", default="", help="provenance note stored in the file")
    p.add_argument("file", nargs="?", metavar="JSON", help="coreset to show (default: shipped)")


def run_autotune(args, progress) -> int:
    jobs = args.jobs or default_jobs()
    config = TuneConfig(
        budget=Budget(args.budget_per_program, args.evaluations_per_program),
        metric=args.objective,
        seed=args.seed,
        validate=args.validate,
        coreset=load_coreset(args.coreset).pipelines if args.coreset else (),
    )
    db = TuneDB(args.db)
    db.set_meta("budget_per_program", args.budget_per_program)
    db.set_meta("objective", args.objective)
    if args.corpus:
        db.set_meta("corpus", args.corpus)
    failed = 0
    programs = []
    for _path, program in progress(
        load_programs(args.files, args.include, args.define, jobs), len(args.files), "loading"
    ):
        if isinstance(program, LLMCError):
            print(f"llmc: error: {program}", file=sys.stderr)
            failed += 1
        else:
            programs.append(program)
    unique = list({p.hash: p for p in programs}.values())
    skipped = len(db.done() & {p.hash for p in unique})
    if skipped:
        print(
            f"llmc: resuming: {skipped} of {len(unique)} programs already in {args.db}",
            file=sys.stderr,
        )
    rows = autotune(unique, db, config, jobs=jobs, cache_path=args.cache, ray_address=args.ray)
    for row in progress(rows, len(unique) - skipped, "autotuning"):
        if row["status"] == "error":
            print(f"llmc: error: {row['error']}", file=sys.stderr)
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
        f"{len(summary)} programs in {args.db}: {len(ok)} tuned, mean improvement over -Oz "
        f"{mean:.2f}%",
        file=sys.stderr,
    )
    db.close()
    return 1 if failed else 0


def run_coreset(args) -> int:
    if args.action == "show":
        coreset = load_coreset(args.file)
        print(json.dumps(coreset.provenance, indent=2))
        for pipeline in coreset.pipelines:
            print(pipeline)
        return 0
    if not args.db or not args.output:
        print("llmc: error: coreset build needs --db and -o", file=sys.stderr)
        return 2
    db = TuneDB(args.db)
    coreset, entries = build_coreset(db, args.k, args.note)
    db.close()
    save_coreset(args.output, coreset, entries)
    print(
        f"{len(entries)} lists from {coreset.provenance['programs']} programs, covering a "
        f"mean {coreset.provenance['mean_covered_improvement_pct']:.2f}% improvement; "
        f"written to {args.output}",
        file=sys.stderr,
    )
    return 0
