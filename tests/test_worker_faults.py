"""Evaluation workers that die from outside (killed while idle, busy or starting), a pool
left by an exception, and a pool process killed with SIGKILL: the evaluator keeps going
and nothing it started outlives it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from conftest import FIXTURES
from llmcompiler.engine import Evaluator, Task
from llmcompiler.engine.result import OK

OZ = "default<Oz>"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def _worker_pids(ev: Evaluator) -> list[int]:
    return [w.proc.pid for w in ev._workers if w is not None]


def test_idle_worker_killed_is_replaced(programs):
    with Evaluator(jobs=1) as ev:
        assert ev.evaluate(programs["loops.c"], OZ).status == OK
        (pid,) = _worker_pids(ev)
        os.kill(pid, signal.SIGKILL)
        assert ev._workers[0].conn.poll(5)  # its end of the pipe is closed (EOF)
        result = ev.evaluate(programs["loops.c"], OZ)  # the task goes to a fresh worker
        assert result.status == OK and ev.stats.restarts == 1 and ev.stats.crashes == 0


def test_worker_killed_while_starting_is_replaced(programs):
    with Evaluator(jobs=1) as ev:
        (pid,) = _worker_pids(ev)
        os.kill(pid, signal.SIGKILL)  # before it has loaded LLVM
        assert ev.evaluate(programs["switch.c"], OZ).status == OK


def test_busy_workers_killed_are_retried(programs):
    pipelines = [OZ, "default<O2>", "default<O3>", "default<Os>"]
    with Evaluator(jobs=2) as ev:
        ev.evaluate(programs["loops.c"], OZ)  # both started
        finished = []
        for index, result in ev.run([Task(programs["float.c"], p) for p in pipelines]):
            if not finished:  # kill both workers while they evaluate the next two
                for pid in _worker_pids(ev):
                    os.kill(pid, signal.SIGKILL)
            finished.append((index, result.status))
        assert sorted(i for i, _ in finished) == [0, 1, 2, 3]
        assert all(status == OK for _, status in finished)


def test_leaving_by_an_exception_kills_at_once(programs):
    tasks = [Task(programs["loops.c"], p) for p in ("default<O3>", "default<O2>")]
    with pytest.raises(KeyboardInterrupt), Evaluator(jobs=2) as ev:
        run = ev.run(tasks)
        next(run)  # one finished, the other still running
        pids = _worker_pids(ev)
        start = time.monotonic()
        raise KeyboardInterrupt
    assert all(_gone_within(pid, 0.5) for pid in pids)
    assert time.monotonic() - start < 1.0
    run.close()  # an abandoned run of a closed evaluator starts nothing
    assert ev._workers == [] and ev.stats.restarts == 0


def test_workers_die_with_a_killed_pool():
    """A worker busy with a long evaluation notices its pool's death by itself."""
    script = (
        "import threading, time\n"
        "from llmcompiler.engine import Evaluator, Task\n"
        "from llmcompiler.program import load_program\n"
        f"program = load_program({str(FIXTURES / 'float.c')!r})\n"
        "ev = Evaluator(jobs=2)\n"
        "ev.evaluate(program, 'default<Oz>')\n"
        "slow = ','.join(['default<O3>'] * 2000)  # about 8 s\n"
        "tasks = [Task(program, slow), Task(program, slow + ',default<Oz>')]\n"
        "threading.Thread(target=lambda: list(ev.run(tasks)), daemon=True).start()\n"
        "time.sleep(0.5)\n"
        "print(*[w.proc.pid for w in ev._workers], flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.kill()  # SIGKILL: the pool cannot stop its workers
    proc.wait()
    try:
        assert all(_gone_within(pid, 1.5) for pid in pids)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
