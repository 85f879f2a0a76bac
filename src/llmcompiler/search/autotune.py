"""Autotuning a corpus: every program tuned within a budget, results stored in a TuneDB.

Programs run in parallel in local processes (one evaluation worker each), or as Ray
tasks on a cluster. Each finished program is committed at once, so an interrupted run
resumes where it stopped: programs already in the database are skipped.

The local processes each lead their own process group. When the run ends early (Ctrl-C,
SIGTERM, an error), :func:`_stop_children` sends SIGTERM to those groups: each process
kills its evaluation worker and exits, and the compilers and test programs it ran go
with the group; a group still there after a second gets SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from llmcompiler.engine import Evaluator, ResultCache, parallel
from llmcompiler.engine.cache import CacheWarning
from llmcompiler.errors import LLMCError
from llmcompiler.program import Program
from llmcompiler.search.tunedb import TuneDB
from llmcompiler.search.tuner import TuneConfig, optimize

#: Lists besides the winner stored per program for coreset building, each measured with
#: llc-19 like the winner (exact sizes against exact -Oz).
RUNNERS_UP = 8

_STOP_GRACE = 1.0  # seconds a tuning process has to stop after SIGTERM, before SIGKILL

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
    """Tune one program; return the row for TuneDB.record (never raises for bad programs).

    The row's ``warnings`` are the messages of the cache's warnings, for the caller to
    show once however many processes met them.
    """
    row = {"hash": program.hash, "name": program.name, "triple": program.triple}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CacheWarning)
        try:
            runners_up = replace(config, runners_up=RUNNERS_UP)
            r = optimize(_process_evaluator(cache_path), program, runners_up)
        except LLMCError as err:
            r = err
    notes = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    for w in caught:
        if not issubclass(w.category, CacheWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if isinstance(r, LLMCError):
        return {**row, "status": "error", "error": str(r), "warnings": notes}
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
        "warnings": notes,
    }


def autotune(
    programs: Sequence[Program],
    db: TuneDB,
    config: TuneConfig,
    jobs: int = 1,
    cache_path: str | None = None,
    ray_address: str | None = None,
) -> Iterator[dict]:
    """Tune every program not yet in ``db``; record and yield each row as it finishes.

    A cache that cannot be used is said once (:class:`CacheWarning`) and left out. When
    the caller stops early or is interrupted, the tuning processes are stopped at once;
    every row yielded is already committed.

    Raises:
        LLMCError: the database cannot be written, or a tuning process died (rerun to
            resume).
    """
    done = db.done()
    todo = [p for p in programs if p.hash not in done]
    warned: set[str] = set()
    if cache_path is not None and todo and ray_address is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CacheWarning)
            with ResultCache(cache_path) as probe:
                if not probe.usable:  # the processes run without it
                    cache_path = None
        _warn_once([str(w.message) for w in caught], warned)
    if ray_address is not None:
        rows = _run_ray(todo, config, ray_address)
    else:
        rows = _run_local(todo, config, jobs, cache_path)
    try:
        for row in rows:
            _warn_once(row.pop("warnings", ()), warned)
            db.record(row)
            yield row
    finally:
        rows.close()  # now, not when the generator is collected


def _warn_once(messages, warned: set[str]) -> None:
    """Issue each cache warning not issued yet (every process meets the same problem)."""
    for message in messages:
        if message not in warned:
            warned.add(message)
            warnings.warn(CacheWarning(message), stacklevel=3)


def _start_child() -> None:
    """In each tuning process: lead a process group of its own (a Ctrl-C at the terminal
    reaches llmc alone, which stops the group), on SIGTERM kill the evaluation worker and
    exit, and leave cache warnings to tune_program, which hands them to llmc."""
    os.setpgrp()
    signal.signal(signal.SIGTERM, _child_terminated)
    # outside tune_program (closing the cache at exit) nobody would show it as llmc does
    warnings.simplefilter("ignore", CacheWarning)


def _child_terminated(signum: int, frame) -> None:
    if _evaluator is not None:
        _evaluator.close(kill=True)
    os._exit(128 + signum)


def _signal_group(pid: int, sig: int) -> None:
    """Signal the process group ``pid`` leads (the process alone if it leads none yet)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _stop_children(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's processes now: SIGTERM to their groups, SIGKILL after a second."""
    # Python 3.11 has no public way to reach them (3.14 adds terminate_workers()).
    children = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for child in children:
        _signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
    for child in children:
        _signal_group(child.pid, signal.SIGKILL)  # the group may outlive its leader
        child.join(1.0)


def _run_local(todo, config, jobs, cache_path) -> Iterator[dict]:
    import multiprocessing

    if not todo:
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_child)
    try:
        pending = {pool.submit(tune_program, p, config, cache_path) for p in todo}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    row = future.result()
                except BrokenProcessPool:
                    raise LLMCError(
                        "a tuning process died (killed, or out of memory); rerun to resume"
                    ) from None
                yield row
    except BaseException:  # interrupted, stopped early, or failed: stop the rest now
        _stop_children(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(todo, config, address: str) -> Iterator[dict]:
    ray = parallel.connect(address)
    remote = ray.remote(num_cpus=1)(tune_program)
    refs = [remote.remote(p, config) for p in todo]
    try:
        while refs:
            ready, refs = ray.wait(refs, num_returns=1)
            yield ray.get(ready[0])
    finally:
        for ref in refs:  # stopped early: cancel what is still running
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
