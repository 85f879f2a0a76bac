"""Evaluating pass pipelines: the worker pool, its messages and the results cache."""

from llmcompiler.engine.cache import ResultCache
from llmcompiler.engine.pool import Evaluator, PoolStats, Task, default_jobs
from llmcompiler.engine.result import EvalResult, Objective

__all__ = [
    "Evaluator",
    "EvalResult",
    "Objective",
    "PoolStats",
    "ResultCache",
    "Task",
    "default_jobs",
]
