"""Background jobs: ``enqueue`` inside a transaction, run by ``studyhall worker`` or in-process."""

from studyhall.jobs.core import (
    Runtime,
    backoff,
    configure_runtime,
    enqueue,
    queue,
    run_worker,
    runtime,
)

__all__ = [
    "Runtime",
    "backoff",
    "configure_runtime",
    "enqueue",
    "queue",
    "run_worker",
    "runtime",
]
