"""Evaluating pass pipelines: the worker pool, its messages and the results cache."""

from llmcompiler.evaluate.cache import ResultCache
from llmcompiler.evaluate.pool import Evaluator, PoolStats, Task, default_jobs
from llmcompiler.evaluate.result import EvalResult, Objective

__all__ = [
    "Evaluator",
    "EvalResult",
    "Objective",
    "PoolStats",
    "ResultCache",
    "Task",
    "default_jobs",
]
