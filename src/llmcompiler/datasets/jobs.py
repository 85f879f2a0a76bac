"""Turning corpus modules into records, one job per module, in local processes or Ray
tasks.

Each module is turned into records independently, so one bad module only gives a
failed :class:`ModuleOutcome`; outcomes come back in job order whatever the
parallelism.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import dataclass, field

from llmcompiler.corpus.store import CorpusEntry
from llmcompiler.datasets.config import DatasetConfig
from llmcompiler.datasets.disassembly import disassembly_records
from llmcompiler.datasets.emulation import emulation_records
from llmcompiler.datasets.flag_tuning import flag_tuning_records
from llmcompiler.engine import Evaluator, parallel
from llmcompiler.errors import LLMCError, LLVMNotFoundError


@dataclass(frozen=True)
class ModuleJob:
    """One module to turn into records (picklable: sent to processes and Ray tasks)."""

    entry: CorpusEntry
    root: str
    config: DatasetConfig
    label: str | None = None  # flag tuning: the stored best list


@dataclass(frozen=True)
class ModuleOutcome:
    """A module's records (without split and token fields), lists skipped, or its error."""

    program: str
    hash: str
    records: tuple[dict, ...] = ()
    skipped: dict = field(default_factory=dict)  # emulation: failure status -> lists
    error: str | None = None
    triple: str = ""  # the module's target triple


def generate_module(job: ModuleJob, evaluator: Evaluator) -> ModuleOutcome:
    """Load one module and make its records: the outcome holds them, or the reason
    there are none. Never raises for a bad module.

    Raises:
        LLVMNotFoundError: an LLVM tool is missing (no module can succeed).
    """
    entry, config = job.entry, job.config
    skipped: dict[str, int] = {}
    try:
        program = entry.load(job.root)
        if config.task == "emulation":
            records, skipped = emulation_records(evaluator, program, config.seed, config.emulation)
        elif config.task == "flag-tuning":
            records = flag_tuning_records(
                evaluator, program, config.seed, config.flag_tuning, job.label
            )
        else:
            records = disassembly_records(evaluator, program)
    except LLVMNotFoundError:
        raise  # not this module's fault: nothing can go on
    except LLMCError as err:
        return ModuleOutcome(entry.id, entry.hash, error=str(err))
    except Exception as err:  # a bug must not stop the build either; it is reported
        return ModuleOutcome(entry.id, entry.hash, error=f"internal error: {err!r}")
    return ModuleOutcome(entry.id, entry.hash, tuple(records), skipped, triple=program.triple)


_evaluator: Evaluator | None = None


def _in_worker(job: ModuleJob) -> ModuleOutcome:
    """Run a job with this process's own one-worker Evaluator (pool processes, Ray)."""
    global _evaluator
    if _evaluator is None:
        _evaluator = Evaluator(jobs=1, timeout=job.config.timeout)
        atexit.register(_evaluator.close)
    return generate_module(job, _evaluator)


def run_jobs(
    jobs: list[ModuleJob], processes: int = 1, ray: str | None = None
) -> Iterator[ModuleOutcome]:
    """Yield each job's outcome, in job order, computing them in parallel.

    ``processes`` local processes (1: this process and one evaluation worker), or Ray
    tasks when ``ray`` is an address, "auto" or "local" (start a local instance).

    Raises:
        LLMCError: Ray was asked for and is not installed.
        LLVMNotFoundError: an LLVM tool is missing.
    """
    if not jobs:
        return
    if ray is not None:
        for job, outcome in parallel.ordered_ray(_in_worker, jobs, ray):
            yield _outcome(job, outcome, "ray: ")
    elif processes <= 1:
        with Evaluator(jobs=1, timeout=jobs[0].config.timeout) as evaluator:
            for job in jobs:
                yield generate_module(job, evaluator)
    else:
        for job, outcome in parallel.ordered_local(_in_worker, jobs, processes):
            yield _outcome(job, outcome, "")


def _outcome(job: ModuleJob, result, prefix: str) -> ModuleOutcome:
    """The job's outcome, or a failed one when its process (or Ray task) died."""
    if isinstance(result, LLVMNotFoundError):
        raise result
    if isinstance(result, BaseException):
        return ModuleOutcome(job.entry.id, job.entry.hash, error=f"{prefix}{result!r}")
    return result
