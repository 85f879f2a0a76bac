"""The evaluation worker: a process that keeps parsed modules and runs pipelines on them.

It is the only place pipelines run in-process. A pipeline that kills the
process kills only this worker; the pool notices and starts a new one.
``evaluate_module`` is usable directly (in this process) for one-off work.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from llmcompiler.engine.result import (
    ERROR,
    INVALID_PIPELINE,
    OK,
    VERIFY_FAILED,
    EvalResult,
    Objective,
)
from llmcompiler.engine.steps import StepError, run_pipeline
from llmcompiler.errors import EvaluationError, InvalidIRError, PipelineError
from llmcompiler.llvm import (
    Module,
    TargetMachine,
    berkeley_size,
    default_triple,
    function_sizes,
)
from llmcompiler.llvm.toolchain import llc_assembly, llc_object

#: Artifacts a request may ask for besides the numbers. "functions" is the objective
#: per defined function, as JSON {name: value}: instructions, or for size the bytes of
#: code in the object's symbol table (ELF only: other formats give an error).
OUTPUTS = ("ir", "bitcode", "object", "asm", "functions")

_MODULE_CACHE_SIZE = 32  # parsed modules kept per worker
_REPARSE_AFTER = 2000  # evaluations before a module's context is rebuilt (bounds memory)

_target_machines: dict[tuple[str, str], TargetMachine] = {}

#: Asked with (objective key, digest of an optimized module's bitcode) before code
#: generation; returns the size already measured for that module, or None.
KnownSize = Callable[[tuple[str, str]], "int | None"]


def target_machine(triple: str, opt_level: str = "O2") -> TargetMachine:
    """Return a cached TargetMachine for a triple (llc-19's default settings)."""
    key = (triple, opt_level)
    if key not in _target_machines:
        _target_machines[key] = TargetMachine(triple, opt_level=opt_level)
    return _target_machines[key]


def evaluate_module(
    module: Module,
    pipeline: str,
    objective: Objective,
    output: str | None = None,
    then: tuple[str, ...] = (),
    known_size: KnownSize | None = None,
) -> EvalResult:
    """Run ``pipeline`` on a clone of ``module`` and measure it. ``module`` is unchanged.
    With ``then`` (output "functions"), each of those pipelines runs on a copy of the
    result and the output lists their values per function (see ``Task.then``).

    For the size objective with no output, the result's ``optimized`` is the key of the
    optimized module (objective key, digest of its bitcode), and ``known_size`` is
    asked for it first: different pipelines often give the same module, and its size is
    then taken instead of compiled again.

    Returns an EvalResult with status ok, invalid_pipeline, verify_failed or error.
    A crash inside LLVM is not caught here: run this in a worker process.
    """
    start = time.perf_counter()
    try:
        triple = module.triple or default_triple()
        tm = target_machine(triple, objective.opt_level)
    except EvaluationError as err:
        return EvalResult(ERROR, error=str(err), seconds=_since(start))
    with module.clone() as work:
        try:
            run_pipeline(work, pipeline, tm)  # LLVM segments and llmcompiler's own steps
            work.verify()
        except PipelineError as err:
            return EvalResult(INVALID_PIPELINE, error=str(err), seconds=_since(start))
        except InvalidIRError as err:
            return EvalResult(VERIFY_FAILED, error=str(err), seconds=_since(start))
        except StepError as err:
            return EvalResult(ERROR, error=str(err), seconds=_since(start))
        instcount = work.instruction_count()
        if then:
            payload = json.dumps([_per_function(work, p, objective, tm) for p in then])
            return EvalResult(
                OK, instcount=instcount, seconds=_since(start), output=payload.encode()
            )
        if output == "functions" and objective.metric == "instcount":
            payload = json.dumps(work.function_instruction_counts()).encode()
            return EvalResult(OK, instcount=instcount, seconds=_since(start), output=payload)
        exact_size = objective.metric == "size" and objective.size_path == "llc"
        try:
            keyed = objective.metric == "size" and output is None
            bitcode = None
            if exact_size or keyed or output in ("bitcode", "object", "asm"):
                bitcode = work.to_bitcode()
            key = None
            if keyed:
                key = (objective.key, hashlib.blake2b(bitcode, digest_size=16).hexdigest())
                size = known_size(key) if known_size is not None else None
                if size is not None:  # the same module as an earlier candidate's
                    return EvalResult(
                        OK, instcount=instcount, size=size, seconds=_since(start), optimized=key
                    )
            payload = None
            if output == "ir":
                payload = work.to_text().encode()
            elif output == "bitcode":
                payload = bitcode
            elif output == "asm":  # final artifacts come from llc, the reference
                payload = llc_assembly(bitcode, triple=triple).encode()
            obj = llc_object(bitcode, triple=triple) if exact_size or output == "object" else None
            if output == "object":
                payload = obj
            size = None
            if exact_size:
                size = berkeley_size(obj).binary_size
            elif objective.metric == "size":  # last use of work: code generation mutates it
                obj = tm.emit_object(work)
                size = berkeley_size(obj).binary_size
            if output == "functions":
                sizes = function_sizes(obj)
                if sizes is None:
                    raise EvaluationError("sizes per function need an ELF object")
                payload = json.dumps(sizes).encode()
        except EvaluationError as err:
            return EvalResult(ERROR, instcount=instcount, error=str(err), seconds=_since(start))
    return EvalResult(
        OK, instcount=instcount, size=size, seconds=_since(start), output=payload, optimized=key
    )


def _per_function(
    module: Module, pipeline: str, objective: Objective, tm: TargetMachine
) -> dict[str, int] | None:
    """The objective per function after ``pipeline`` on a copy of ``module`` (code size
    from the fast path's object), or None where the pipeline fails or the IR breaks."""
    with module.clone() as work:
        try:
            run_pipeline(work, pipeline, tm)
            work.verify()
            if objective.metric == "instcount":
                return work.function_instruction_counts()
            return function_sizes(tm.emit_object(work))
        except (PipelineError, InvalidIRError, EvaluationError):
            return None


def _since(start: float) -> float:
    return time.perf_counter() - start


class _ModuleCache:
    """Parsed modules by hash, each in its own context, least recently used evicted."""

    def __init__(self, capacity: int = _MODULE_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, list] = OrderedDict()  # hash -> [module, uses]

    def get(self, digest: str) -> Module | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        self._entries.move_to_end(digest)
        entry[1] += 1
        if entry[1] > _REPARSE_AFTER:  # drop it; the pool resends the bitcode
            self._drop(digest)
            return None
        return entry[0]

    def put(self, digest: str, bitcode: bytes) -> Module:
        module = Module.parse(bitcode, digest)
        self._entries[digest] = [module, 0]
        while len(self._entries) > self.capacity:
            self._drop(next(iter(self._entries)))
        return module

    def _drop(self, digest: str) -> None:
        module, _ = self._entries.pop(digest)
        context = module.context
        module.close()
        context.close()


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker_main(conn, max_rss_mb: float | None) -> None:
    """Say ``{"ready": True}``, then serve requests from ``conn`` until it closes or sends None.

    Standard error (fd 2) should be a file the pool reads when the worker dies;
    it is emptied before each request so it holds only the last one's output.

    A request is a dict with ``hash``, ``bitcode`` (or None), ``pipeline``,
    ``objective`` and ``output``; the reply is ``{"result": EvalResult}``. Before
    compiling an optimized module for its size the worker asks ``{"known": key}`` and
    the pool answers ``{"size": size or None}`` (see ``evaluate_module``). Other replies:
    ``{"missing": True}`` when the worker needs the bitcode, ``{"retarget": True}``
    for a module of another target than the first it evaluated (see below), and may
    carry ``"recycle": True`` when the worker exits afterwards to release memory.

    A worker serves one target triple, the first it evaluates: building a target's code
    generator sets some of LLVM's process-wide options (the WebAssembly back end sets
    ``-min-jump-table-entries`` to 2), so a module of another target would measure
    differently in this process than in a fresh one. The pool answers ``retarget`` by
    sending the task to a fresh worker.
    """
    stderr_is_file = stat.S_ISREG(os.fstat(2).st_mode)
    modules = _ModuleCache()
    bound: str | None = None  # the triple this worker serves
    conn.send({"ready": True})
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        if stderr_is_file:
            os.ftruncate(2, 0)
            os.lseek(2, 0, os.SEEK_SET)
        module = modules.get(request["hash"])
        if module is None:
            if request["bitcode"] is None:
                conn.send({"missing": True})
                continue
            try:
                module = modules.put(request["hash"], request["bitcode"])
            except InvalidIRError as err:
                conn.send({"result": EvalResult(ERROR, error=str(err))})
                continue
        triple = module.triple or default_triple()
        if bound is not None and triple != bound:
            conn.send({"retarget": True})
            continue
        bound = triple

        def known_size(key: tuple[str, str]) -> int | None:
            conn.send({"known": key})
            answer = conn.recv()
            if answer is None:  # the pool is closing
                raise SystemExit(0)
            return answer["size"]

        result = evaluate_module(
            module,
            request["pipeline"],
            request["objective"],
            request["output"],
            request.get("then", ()),
            known_size,
        )
        recycle = max_rss_mb is not None and _rss_mb() > max_rss_mb
        conn.send({"result": result, "recycle": recycle})
        if recycle:
            return


def _exit_with_parent(parent: int, every: float = 0.2) -> None:
    """Once the pool's process is gone, kill this worker and the llc-19 it runs.

    The pool kills its workers when it stops, even on Ctrl-C or SIGTERM; this covers a
    pool that could not (killed by SIGKILL, or by the OOM killer) and a worker busy with a
    long evaluation, which would notice the closed pipe only when it is done.
    """
    while os.getppid() == parent:
        time.sleep(every)
    if os.getpgrp() == os.getpid():  # the pool starts each worker in its own group
        os.killpg(0, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _main(argv: list[str]) -> None:
    """Entry point: ``python -m llmcompiler.engine.worker FD [MAX_RSS_MB]``."""
    from multiprocessing.connection import Connection

    from llmcompiler.llvm import enable_crash_traces

    watch = threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True)
    watch.start()
    enable_crash_traces()  # a crash prints the pass that was running
    conn = Connection(int(argv[1]))
    worker_main(conn, float(argv[2]) if len(argv) > 2 else None)


if __name__ == "__main__":
    import sys

    _main(sys.argv)
