"""Evaluating pass pipelines: the worker pool, its messages and the results cache."""

from llmcompiler.engine.cache import ResultCache
from llmcompiler.engine.pool import Deadline, Evaluator, PoolStats, Task, default_jobs
from llmcompiler.engine.result import NOT_STARTED, EvalResult, Objective

__all__ = [
    "NOT_STARTED",
    "Deadline",
    "Evaluator",
    "EvalResult",
    "Objective",
    "PoolStats",
    "ResultCache",
    "Task",
    "default_jobs",
]
