"""The Evaluator: a pool of worker processes that evaluates (program, pipeline) pairs.

Workers are subprocesses (about 0.1 s to start, libLLVM included), so a
restart after a crash is cheap. Each worker keeps parsed modules, so only
the first evaluation of a program pays for parsing. The pool is driven from
one thread; it is not thread-safe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from llmcompiler.engine.cache import ResultCache
from llmcompiler.engine.limits import default_jobs
from llmcompiler.engine.result import CRASH, NOT_STARTED, TIMEOUT, EvalResult, Objective
from llmcompiler.engine.worker import OUTPUTS
from llmcompiler.errors import EvaluationError
from llmcompiler.program import Program

_ERROR_TEXT_LIMIT = 2000
_START_TIMEOUT = 60.0  # seconds a new worker may take to load LLVM
_SIZES_KEPT = 100_000  # sizes of optimized modules the pool remembers (~150 bytes each)


class Deadline:
    """A moment (``time.monotonic()``) by which the tasks that hold it must end.

    The caller may move it while a run goes on (the pool reads ``at`` whenever it
    waits): search lets other lists use the workers while its first lists run past the
    budget's end, then pulls the deadline back when they are done.
    """

    def __init__(self, at: float) -> None:
        self.at = at

    def __repr__(self) -> str:
        return f"Deadline({self.at:.3f})"


@dataclass(frozen=True)
class Task:
    """One evaluation: run ``pipeline`` on ``program`` and measure ``objective``."""

    program: Program
    pipeline: str
    objective: Objective = field(default_factory=Objective)
    output: str | None = None  # one of worker.OUTPUTS, or None for numbers only
    timeout: float | None = None  # seconds for this evaluation (None: the pool's timeout)
    #: when the evaluation must end, whatever its timeout; a task whose deadline has
    #: passed before a worker takes it is not run: its result has status TIMEOUT and
    #: error NOT_STARTED (None: no deadline)
    deadline: Deadline | None = None
    #: With output "functions": pipelines each run on a copy of the result of
    #: ``pipeline`` (run once); the output is then a JSON list, one entry per pipeline:
    #: {function: value}, or null where that pipeline failed.
    then: tuple[str, ...] = ()

    @property
    def key(self) -> tuple:
        return (self.program.hash, self.pipeline, self.objective, self.output, self.then)


@dataclass
class PoolStats:
    """Counters since the pool started."""

    evaluations: int = 0  # evaluations actually run by workers
    cache_hits: int = 0
    crashes: int = 0
    timeouts: int = 0
    restarts: int = 0  # retargets included
    retargets: int = 0  # tasks moved to a fresh worker because their target differed
    known_sizes: int = 0  # evaluations that took the size of a module compiled before
    retries: int = 0  # crashed evaluations run again in a fresh worker


def _worker_env() -> dict[str, str]:
    """The caller's environment, with this package importable however it was found."""
    import llmcompiler

    root = str(Path(llmcompiler.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


class _Worker:
    """One worker: a fresh ``python -m llmcompiler.engine.worker`` process.

    Workers are plain subprocesses, not multiprocessing children, so they never
    re-import the caller's ``__main__`` and never inherit its threads.
    """

    def __init__(self, index: int, max_rss_mb: float | None) -> None:
        # The worker's stderr: an unlinked temporary file, so nothing is left behind.
        fd, path = tempfile.mkstemp(prefix=f"llmc-worker{index}-", suffix=".log")
        os.unlink(path)
        self.stderr_fd = fd
        self.conn, child = multiprocessing.Pipe()
        argv = [sys.executable, "-m", "llmcompiler.engine.worker", str(child.fileno())]
        if max_rss_mb is not None:
            argv.append(str(max_rss_mb))
        self.proc = subprocess.Popen(
            argv,
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=fd,
            env=_worker_env(),
            # its own process group, so that killing it also kills an llc-19 it runs
            start_new_session=True,
        )
        child.close()
        self.ready = False
        self.task_index: int | None = None
        self.deadline = 0.0  # when the task's own timeout ends
        self.limit = 0.0  # its timeout in seconds
        self.cutoff: Deadline | None = None  # the task's Deadline, if it has one
        self.loaded: set[str] = set()
        self.triple: str | None = None  # the target it serves, once it has had a task

    def wait_ready(self) -> None:
        """Block until the worker has loaded LLVM, so start-up never counts as a timeout.

        Raises:
            EvaluationError: the worker died or did not start within a minute.
        """
        if self.ready:
            return
        if self.conn.poll(_START_TIMEOUT):
            with contextlib.suppress(EOFError, OSError):
                self.ready = self.conn.recv().get("ready", False)
        if not self.ready:
            raise EvaluationError(f"evaluation worker failed to start: {self.crash_report()}")

    def send(self, index: int, task: Task, timeout: float) -> None:
        self.wait_ready()
        digest = task.program.hash
        bitcode = None if digest in self.loaded else task.program.bitcode
        self.conn.send(
            {
                "hash": digest,
                "bitcode": bitcode,
                "pipeline": task.pipeline,
                "objective": task.objective,
                "output": task.output,
                "then": task.then,
            }
        )
        self.loaded.add(digest)
        self.triple = self.triple or task.program.triple or None
        self.task_index = index
        self.limit = timeout
        self.deadline = time.monotonic() + timeout
        self.cutoff = task.deadline

    def ends(self) -> float:
        """When the current task must end: its timeout, or its Deadline if earlier."""
        return self.deadline if self.cutoff is None else min(self.deadline, self.cutoff.at)

    def crash_report(self) -> str:
        """Describe how the worker died, with the tail of what LLVM printed."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exited with status {code}"
        text = os.pread(self.stderr_fd, 1 << 20, 0).decode("utf-8", "replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        keys = ("LLVM ERROR", "Assertion", "Running pass", "error:")
        detail = [ln.strip() for ln in lines if any(k in ln for k in keys)] or lines[:3]
        message = f"worker crashed ({how})"
        if detail:  # workers name modules by hash, which means nothing to a user
            message += ": " + re.sub(r' on module "[0-9a-f]{64}"', "", " | ".join(detail))
        return message[:_ERROR_TEXT_LIMIT]

    def kill(self) -> None:
        """Kill the worker and whatever it started (llc-19), its whole process group."""
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.kill()

    def ask_to_stop(self) -> None:
        """Ask the worker to exit after its current evaluation (see :meth:`reap`)."""
        with contextlib.suppress(OSError):
            self.conn.send(None)

    def reap(self, timeout: float = 5.0) -> None:
        """Wait for the worker to exit, killing it after ``timeout`` seconds; release it."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
        if self.stderr_fd is not None:
            self.conn.close()
            os.close(self.stderr_fd)
            self.stderr_fd = None

    def stop(self, kill: bool = False) -> None:
        """Stop the worker: at once (``kill``), or after its current evaluation."""
        if kill:
            self.kill()
        else:
            self.ask_to_stop()
        self.reap()


def _check(task: Task) -> None:
    """Raises ValueError for a task the pool cannot run (see :meth:`Evaluator.run`)."""
    if task.output is not None and task.output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, not {task.output!r}")
    if task.then and task.output != "functions":
        raise ValueError('Task.then needs output "functions"')


def _take(worker: _Worker | None, pending: deque[int], tasks: Sequence[Task]) -> int:
    """The next pending task for ``worker``: the first of the target it serves, so that
    a run mixing targets restarts as few workers as it can (a worker serves one target:
    see ``worker_main``), else the first."""
    if worker is not None and worker.triple is not None:
        for index in pending:
            if tasks[index].program.triple == worker.triple:
                pending.remove(index)
                return index
    return pending.popleft()


class Evaluator:
    """Evaluates pipelines on programs across worker processes, with a results cache.

    Args:
        jobs: worker processes (default: one per core).
        timeout: seconds allowed per evaluation; over it the worker is killed
            and the result has status ``timeout``.
        cache: a ResultCache, or None for no caching.
        max_rss_mb: a worker whose memory exceeds this is replaced after its
            current evaluation.

    Use as a context manager, or call ``close()``. Leaving the ``with`` block by an
    exception (Ctrl-C included) kills the workers and their llc-19 at once.
    """

    def __init__(
        self,
        jobs: int | None = None,
        timeout: float = 60.0,
        cache: ResultCache | None = None,
        max_rss_mb: float | None = 2048,
    ) -> None:
        self.jobs = jobs or default_jobs()
        self.timeout = timeout
        self.cache = cache
        self.max_rss_mb = max_rss_mb
        self.stats = PoolStats()
        self._closed = False
        #: size by optimized module (EvalResult.optimized), oldest first: workers ask
        #: before compiling one (see worker.evaluate_module)
        self._sizes: OrderedDict[tuple[str, str], int] = OrderedDict()
        # None: a slot whose worker was killed and is started again when next needed
        self._workers: list[_Worker | None] = [self._start(i) for i in range(self.jobs)]

    def _start(self, index: int) -> _Worker:
        return _Worker(index, self.max_rss_mb)

    def _restart(self, worker: _Worker, kill: bool, start: bool = True) -> None:
        """Stop ``worker`` and put a new one in its place (``start``), or leave the place
        empty until a task needs it."""
        index = self._workers.index(worker)
        worker.stop(kill=kill)
        self._workers[index] = self._start(index) if start else None
        self.stats.restarts += 1

    # -- public API ---------------------------------------------------------

    def evaluate(
        self,
        program: Program,
        pipeline: str,
        objective: Objective | None = None,
        output: str | None = None,
    ) -> EvalResult:
        """Evaluate one pipeline. Returns the EvalResult (never raises for LLVM failures)."""
        task = Task(program, pipeline, objective or Objective(), output)
        return next(iter(self.run([task])))[1]

    def evaluate_many(
        self, program: Program, pipelines: Iterable[str], objective: Objective | None = None
    ) -> list[EvalResult]:
        """Evaluate many pipelines on one program across the pool; results in input order."""
        objective = objective or Objective()
        tasks = [Task(program, p, objective) for p in pipelines]
        results: list[EvalResult | None] = [None] * len(tasks)
        for index, result in self.run(tasks):
            results[index] = result
        return results  # type: ignore[return-value]

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, EvalResult]]:
        """Evaluate tasks; yield ``(index, result)`` pairs as they complete.

        Cached results come first. Identical tasks are evaluated once. ``tasks`` may be a
        list the caller appends to between results: a task added then is taken as a
        worker comes free, so that a search can choose its next candidate from the
        results so far and no worker waits for a batch to end. The run ends when every
        task it was given is done.

        Raises:
            EvaluationError: two fresh workers in a row died before taking a task (they
                cannot start: see the message).
            ValueError: an unknown ``output``, or the evaluator is closed.
        """
        if self._closed:
            raise ValueError("the Evaluator is closed")
        for task in tasks:
            _check(task)
        given = len(tasks)
        groups: dict[tuple, list[int]] = {}  # the tasks waiting for each evaluation
        pending: deque[int] = deque()
        busy: dict[int, _Worker] = {}  # id(worker) -> worker
        retried: set[int] = set()
        taken = 0  # tasks[:taken] are cached, pending, running or done
        try:
            while True:
                while taken < len(tasks):  # the first tasks, or those added since
                    index, task = taken, tasks[taken]
                    taken += 1
                    if index >= given:
                        _check(task)
                    if task.output is None and self.cache is not None:
                        hit = self.cache.get(task.program.hash, task.pipeline, task.objective)
                        if hit is not None:
                            self.stats.cache_hits += 1
                            yield index, hit
                            continue
                    if task.key not in groups:
                        pending.append(index)
                    groups.setdefault(task.key, []).append(index)
                if not (pending or busy):
                    break
                late = []
                for position, worker in enumerate(self._workers):
                    while pending and (worker is None or worker.task_index is None):
                        index = _take(worker, pending, tasks)
                        deadline = tasks[index].deadline
                        if deadline is not None and time.monotonic() >= deadline.at:
                            late.append(index)
                        else:
                            self._dispatch(position, index, tasks, busy)
                            break
                for index in late:
                    for same in groups.pop(tasks[index].key):
                        yield same, EvalResult(TIMEOUT, error=NOT_STARTED)
                if not busy:
                    continue
                for index, result in self._collect(busy, tasks, retried):
                    task = tasks[index]
                    if task.output is None and self.cache is not None:
                        self.cache.put(task.program.hash, task.pipeline, task.objective, result)
                    for same in groups.pop(task.key):
                        yield same, result
        except GeneratorExit:  # the caller has what it needs: fresh workers for the next run
            self._abandon(busy, start=True)
            raise
        except BaseException:  # interrupted (Ctrl-C, SIGTERM) or failed: start nothing new
            self._abandon(busy, start=False)
            raise

    def _abandon(self, busy: dict, start: bool) -> None:
        """Kill the workers still busy with a run that ends early (their tasks are dropped)."""
        for worker in list(busy.values()):
            worker.task_index = None
            if not self._closed and worker in self._workers:  # else close() stopped it
                self._restart(worker, kill=True, start=start)
        busy.clear()

    def _dispatch(self, position: int, index: int, tasks: Sequence[Task], busy: dict) -> None:
        """Send task ``index`` to the worker at ``position``, starting one if the place is
        empty. A worker found dead (killed while idle or starting) is replaced once.

        Raises:
            EvaluationError: the replacement died too.
        """
        for attempt in range(2):
            worker = self._workers[position]
            if worker is None:
                worker = self._workers[position] = self._start(position)
            try:
                worker.send(index, tasks[index], self._limit(tasks[index]))
            except (OSError, EvaluationError) as err:  # EvaluationError: it did not start
                worker.task_index = None
                if isinstance(err, EvaluationError):
                    message = str(err)
                else:
                    message = f"evaluation worker died: {worker.crash_report()}"
                self._restart(worker, kill=True, start=False)
                if attempt:
                    raise EvaluationError(message) from None
                continue
            busy[id(worker)] = worker
            return

    def _limit(self, task: Task) -> float:
        """Seconds ``task`` may take: its own timeout, else the pool's."""
        return task.timeout or self.timeout

    def _collect(self, busy: dict, tasks: Sequence[Task], retried: set[int]):
        """Wait for replies or deadlines; return finished (index, result) pairs.

        A task whose worker crashes is run once more in the restarted (fresh) worker:
        some LLVM crashes depend on what the process ran before (seen on GCC torture
        tests that crash after other modules and pass alone), and a result must not
        depend on which worker took the task. Only a second crash is reported.
        """
        now = time.monotonic()
        wait_for = max(0.0, min(w.ends() for w in busy.values()) - now)
        ready = wait([w.conn for w in busy.values()], timeout=wait_for)
        finished = []
        for worker in list(busy.values()):
            index = worker.task_index
            if worker.conn in ready:
                try:
                    reply = worker.conn.recv()
                except (EOFError, OSError):
                    self.stats.crashes += 1
                    self.stats.evaluations += 1
                    report = worker.crash_report()
                    del busy[id(worker)]
                    worker.task_index = None
                    position = self._workers.index(worker)
                    self._restart(worker, kill=True)
                    if index not in retried:
                        retried.add(index)
                        self.stats.retries += 1
                        self._dispatch(position, index, tasks, busy)
                        continue
                    finished.append((index, EvalResult(CRASH, error=report)))
                    continue
                if "known" in reply:  # a worker asks for a size measured before
                    size = self._sizes.get(reply["known"])
                    if size is not None:
                        self._sizes.move_to_end(reply["known"])
                        self.stats.known_sizes += 1
                    worker.conn.send({"size": size})
                    continue
                if reply.get("retarget"):  # it serves another target: a fresh worker
                    self.stats.retargets += 1
                    del busy[id(worker)]
                    worker.task_index = None
                    position = self._workers.index(worker)
                    self._restart(worker, kill=False, start=False)
                    self._dispatch(position, index, tasks, busy)
                    continue
                if reply.get("missing"):  # the worker evicted the module: resend it
                    worker.loaded.discard(tasks[index].program.hash)
                    worker.send(index, tasks[index], self._limit(tasks[index]))
                    continue
                self.stats.evaluations += 1
                del busy[id(worker)]
                worker.task_index = None
                if reply.get("recycle"):
                    self._restart(worker, kill=False)
                result = reply["result"]
                if result.optimized is not None and result.size is not None:
                    self._sizes[result.optimized] = result.size
                    if len(self._sizes) > _SIZES_KEPT:
                        self._sizes.popitem(last=False)
                finished.append((index, result))
            elif time.monotonic() >= worker.ends():
                self.stats.timeouts += 1
                self.stats.evaluations += 1
                del busy[id(worker)]
                worker.task_index = None
                ran = min(worker.limit, time.monotonic() - worker.deadline + worker.limit)
                if worker.ends() < worker.deadline:
                    error = f"stopped at its deadline after {ran:.2g} s"
                else:
                    error = f"timed out after {worker.limit:g} s"
                self._restart(worker, kill=True)
                timed_out = EvalResult(TIMEOUT, error=error, seconds=ran)
                finished.append((index, timed_out))
        return finished

    def close(self, kill: bool = False) -> None:
        """Stop all workers: each after its current evaluation, or at once with ``kill``
        (their llc-19 too). Safe to call twice."""
        self._closed = True
        workers = [w for w in self._workers if w is not None]
        self._workers = []
        for worker in workers:
            if kill:
                worker.kill()
            else:
                worker.ask_to_stop()
        for worker in workers:
            worker.reap()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(kill=exc_type is not None)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
