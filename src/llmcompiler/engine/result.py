"""Messages of the evaluator: what to measure and what came back. Frozen, picklable."""

from __future__ import annotations

from dataclasses import dataclass

from llmcompiler.llvm.codegen import relocation_model

#: Evaluation statuses. Only ``ok`` carries numbers.
OK = "ok"
INVALID_PIPELINE = "invalid_pipeline"  # LLVM rejected the pipeline text (unknown pass, syntax)
VERIFY_FAILED = "verify_failed"  # the pipeline produced IR the verifier rejects
CRASH = "crash"  # the worker died (segfault, LLVM fatal error); it was restarted
TIMEOUT = "timeout"  # over the per-evaluation time limit; the worker was restarted
ERROR = "error"  # anything else (e.g. code generation failed)
STATUSES = (OK, INVALID_PIPELINE, VERIFY_FAILED, CRASH, TIMEOUT, ERROR)
#: The error of a task whose deadline passed before a worker took it (status TIMEOUT).
NOT_STARTED = "not started: its deadline had passed"


@dataclass(frozen=True)
class Objective:
    """What an evaluation measures, and the fixed code generation settings.

    Attributes:
        metric: ``"size"`` (binary size and instruction count) or ``"instcount"``
            (instruction count only; no code generation, much cheaper).
        size_path: ``"fast"`` emits the object in-process through the C API
            (equal to llc-19 except around libcalls that llc lowers using target
            library info, e.g. sqrt, memcmp); ``"llc"`` runs the optimized
            module through ``llc-19`` and is exact.
        opt_level: code generation level; llc-19's default is O2.
    """

    metric: str = "size"
    size_path: str = "fast"
    opt_level: str = "O2"

    def __post_init__(self) -> None:
        if self.metric not in ("size", "instcount"):
            raise ValueError(f"metric must be 'size' or 'instcount', not {self.metric!r}")
        if self.size_path not in ("fast", "llc"):
            raise ValueError(f"size_path must be 'fast' or 'llc', not {self.size_path!r}")

    @property
    def key(self) -> str:
        """A string naming these settings, used as part of the cache key."""
        if self.metric == "instcount":
            return "instcount"
        return f"size/{self.size_path}/{self.opt_level}/{relocation_model()}"


@dataclass(frozen=True)
class EvalResult:
    """The outcome of running one pipeline on one module.

    ``instcount`` and ``size`` are set when ``status == "ok"`` (``size`` only for
    the size metric). ``error`` holds LLVM's message otherwise. ``output`` holds
    the requested artifact (IR text, bitcode, object or assembly bytes), if any.
    ``optimized`` names the optimized module a size was measured on (objective key,
    digest of its bitcode), so that the pool can give its size to another pipeline
    that gives the same module.
    """

    status: str
    instcount: int | None = None
    size: int | None = None
    error: str = ""
    seconds: float = 0.0
    cached: bool = False
    output: bytes | None = None
    optimized: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def value(self, metric: str) -> int | None:
        """The measure of ``metric``: ``size`` for "size", else ``instcount``."""
        return self.size if metric == "size" else self.instcount
