"""Background jobs: ``enqueue`` inside a transaction, run by ``studyhall worker`` or in-process.

Importing the package registers its own tasks (mail delivery, housekeeping) with the queue."""

from studyhall.jobs import mail, maintenance
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
    "mail",
    "maintenance",
    "queue",
    "run_worker",
    "runtime",
]
