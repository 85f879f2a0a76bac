"""How many worker processes this machine can hold: no more than the cores this process
may use, and no more than the available memory allows."""

from __future__ import annotations

import os

#: memory one evaluation worker may need, in MB: a Python process with libLLVM loaded
#: (~150 MB) and a large module being optimized
MB_PER_WORKER = 300


def cores() -> int:
    """Return the number of CPU cores this process may use (its affinity mask)."""
    return max(1, len(os.sched_getaffinity(0)))


def available_memory_mb() -> float | None:
    """Return MemAvailable from /proc/meminfo in MB, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def worker_limit(available_mb: float | None = None) -> int:
    """Return the most workers worth starting: the cores this process may use, fewer when
    ``available_mb`` (default: MemAvailable now) holds fewer than one worker
    (:data:`MB_PER_WORKER`) per core; always at least 1."""
    if available_mb is None:
        available_mb = available_memory_mb()
    limit = cores()
    if available_mb is not None:
        limit = min(limit, int(available_mb // MB_PER_WORKER))
    return max(1, limit)


def default_jobs() -> int:
    """Return the number of workers to start when none is asked for: :func:`worker_limit`."""
    return worker_limit()
