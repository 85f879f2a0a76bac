"""Running one function over many items in parallel, results in item order: on local
processes or as Ray tasks (``--ray``). Shared by the corpus and dataset builders.

Both keep a bounded window of items in flight, so memory holds a few results, not all
of them, and a process that dies fails only the item it was running.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from llmcompiler.errors import LLMCError


def connect(address: str):
    """Return the ``ray`` module, connected to ``address`` ("auto", "ray://HOST:PORT" or
    "local" to start a local instance) unless already connected.

    Raises:
        LLMCError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise LLMCError("--ray needs Ray: pip install 'ray>=2.9'") from None
    if not ray.is_initialized():
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
        )
    return ray


def ordered_local(fn: Callable, items: Sequence, jobs: int) -> Iterator[tuple[object, object]]:
    """Yield ``(item, fn(item))`` in item order from ``jobs`` spawned processes.

    An exception raised by ``fn`` is yielded in place of its result. When a process
    dies, the item it was running gets the BrokenProcessPool error and a new pool takes
    the rest.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    workers = max(1, min(jobs, len(items)))
    window = 4 * workers
    start = 0
    while start < len(items):
        pending: collections.deque = collections.deque()
        queue = iter(items[start:])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            try:
                while True:
                    while len(pending) < window and (item := next(queue, None)) is not None:
                        pending.append((item, pool.submit(fn, item)))
                    if not pending:
                        return
                    item, future = pending.popleft()
                    try:
                        result = future.result()
                    except BrokenProcessPool as err:
                        start += 1
                        yield item, err
                        break  # the pool is gone: the rest go to a new one
                    except Exception as err:  # noqa: BLE001 - handed to the caller
                        result = err
                    start += 1
                    yield item, result
            finally:
                for _, future in pending:
                    future.cancel()


def ordered_ray(fn: Callable, items: Sequence, address: str) -> Iterator[tuple[object, object]]:
    """Yield ``(item, fn(item))`` in item order, running ``fn`` as Ray tasks; a failed
    task yields its RayError in place of the result."""
    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=0)(fn)
    window = max(8, 4 * int(ray.cluster_resources().get("CPU", 1)))
    pending: collections.deque = collections.deque()
    queue = iter(items)
    while True:
        while len(pending) < window and (item := next(queue, None)) is not None:
            pending.append((item, remote.remote(item)))
        if not pending:
            return
        item, ref = pending.popleft()
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as err:  # the task or its worker died
            result = err
        del ref
        yield item, result
