"""Autotuning a corpus: every program tuned within a budget, results stored in a TuneDB.

Programs run in parallel in local processes (one evaluation worker each), or as Ray
tasks on a cluster. Each finished program is committed at once, so an interrupted run
resumes where it stopped: programs already in the database are skipped.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from llmcompiler.engine import Evaluator, ResultCache, parallel
from llmcompiler.errors import LLMCError
from llmcompiler.program import Program
from llmcompiler.search.tunedb import TuneDB
from llmcompiler.search.tuner import TuneConfig, optimize

_evaluator: Evaluator | None = None


def _process_evaluator(cache_path: str | None) -> Evaluator:
    """One single-worker Evaluator per process, reused across programs."""
    global _evaluator
    if _evaluator is None:
        cache = ResultCache(cache_path) if cache_path else None
        _evaluator = Evaluator(jobs=1, cache=cache)
        atexit.register(_evaluator.close)
    return _evaluator


def tune_program(program: Program, config: TuneConfig, cache_path: str | None = None) -> dict:
    """Tune one program; return the row for TuneDB.record (never raises for bad programs)."""
    row = {"hash": program.hash, "name": program.name}
    try:
        r = optimize(_process_evaluator(cache_path), program, config)
    except LLMCError as err:
        return {**row, "status": "error", "error": str(err)}
    lists = [
        {
            "pipeline": r.pipeline,
            "size": r.best.size,
            "instcount": r.best.instcount,
            "improvement_pct": r.improvement_pct,
        }
    ]
    if not config.validate:  # with validation only the validated winner is kept
        lists += [
            {"pipeline": p, "size": s, "instcount": n, "improvement_pct": imp}
            for p, s, n, imp in r.runners_up
            if p != r.pipeline
        ]
    return {
        **row,
        "status": "failed" if r.validated is False else "ok",
        "oz_size": r.oz.size,
        "oz_instcount": r.oz.instcount,
        "pipeline": r.pipeline,
        "size": r.best.size,
        "instcount": r.best.instcount,
        "improvement_pct": r.improvement_pct,
        "evaluations": r.evaluations,
        "seconds": r.seconds,
        "validated": r.validated,
        "lists": lists if r.validated is not False else [],
    }


def autotune(
    programs: Sequence[Program],
    db: TuneDB,
    config: TuneConfig,
    jobs: int = 1,
    cache_path: str | None = None,
    ray_address: str | None = None,
) -> Iterator[dict]:
    """Tune every program not yet in ``db``; record and yield each row as it finishes."""
    done = db.done()
    todo = [p for p in programs if p.hash not in done]
    if ray_address is not None:
        rows = _run_ray(todo, config, ray_address)
    else:
        rows = _run_local(todo, config, jobs, cache_path)
    for row in rows:
        db.record(row)
        yield row


def _run_local(todo, config, jobs, cache_path) -> Iterator[dict]:
    import multiprocessing

    if not todo:
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending = {pool.submit(tune_program, p, config, cache_path) for p in todo}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


def _run_ray(todo, config, address: str) -> Iterator[dict]:
    ray = parallel.connect(address)
    remote = ray.remote(num_cpus=1)(tune_program)
    refs = [remote.remote(p, config) for p in todo]
    while refs:
        ready, refs = ray.wait(refs, num_returns=1)
        yield ray.get(ready[0])
