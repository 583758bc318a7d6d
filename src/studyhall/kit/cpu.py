"""CPU-bound work off the event loop, in a small pool of worker processes.

A thread is not enough for pure-Python work: the thread holds the GIL, and every time the
event loop wants it back (after each socket wait) it queues behind the worker, so on a busy
machine requests stall for hundreds of milliseconds while a thread computes. A separate
process has its own interpreter, so the loop keeps serving while it works.

Functions and arguments cross the process boundary by pickling: pass module-level functions
and plain values, and keep results compact (unpickling them runs in this process). The pool
starts on first use (processes are spawned, never forked from a process with threads and
open sockets) and is shut down by `shutdown`.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

__all__ = ["run_in_process", "shutdown"]

_R = TypeVar("_R")

# Two at most: the machines this runs on are small, and a request-serving process should
# not start more CPU hogs than it has cores.
_MAX_WORKERS = max(1, min(2, os.cpu_count() or 1))


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=_MAX_WORKERS, mp_context=multiprocessing.get_context("spawn")
                )
            return self._executor

    def discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_pool = _Pool()


async def run_in_process(function: Callable[..., _R], *args: object) -> _R:
    """Run ``function(*args)`` in a worker process and return its result.

    A worker that dies (killed, out of memory) breaks the pool: the next call starts a new
    one, and this call raises `BrokenProcessPool`, so a job fails and is retried.
    """
    executor = _pool.get()
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(executor, functools.partial(function, *args))
    except BrokenProcessPool:
        _pool.discard(executor)
        raise


def shutdown() -> None:
    """Stop the worker processes (waits for running work); a later call starts new ones."""
    _pool.shutdown()
