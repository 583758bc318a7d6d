"""The Postgres-backed job queue (procrastinate), and deferring inside the caller's transaction.

A job is enqueued by the same transaction as the write that causes it. ``enqueue`` calls
procrastinate's own SQL function on the caller's session, so a rollback removes the job and a
commit makes it visible (its NOTIFY is delivered at commit too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall import domains
from studyhall.config import Settings
from studyhall.db.engine import Database, libpq_conninfo
from studyhall.db.rls import cross_users_transaction

log = logging.getLogger(__name__)

# The worker's LISTEN connection, which procrastinate opens outside its connection pool.
LISTEN_BESIDE_POOL = 1

queue = procrastinate.App(connector=procrastinate.PsycopgConnector())


def load_tasks() -> None:
    """Import every domain's tasks, so a worker knows them all. This package's own tasks (mail,
    housekeeping) are registered by importing ``studyhall.jobs``."""
    domains.task_module_names()


def backoff(retries: int = 5, wait_s: int = 2) -> procrastinate.RetryStrategy:
    """Up to ``retries`` more attempts, ``wait_s ** attempt`` seconds apart; then kept as failed."""
    return procrastinate.RetryStrategy(max_attempts=retries, exponential_wait=wait_s)


@dataclass
class Runtime:
    """What a running job needs: set once per process by whoever starts workers."""

    settings: Settings
    database: Database


_runtime: Runtime | None = None


def configure_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the job runtime is not configured in this process")
    return _runtime


_DEFER_SQL = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        :queue, :task, :priority, :lock, :queueing_lock, CAST(:args AS jsonb), :scheduled_at
    )::procrastinate_job_to_defer_v1]))
    """
)


async def enqueue(
    session: AsyncSession,
    task: procrastinate.tasks.Task[Any, Any, Any],
    *,
    scheduled_at: datetime | None = None,
    lock: str | None = None,
    queueing_lock: str | None = None,
    **args: Any,
) -> int:
    """Defer ``task(**args)`` in the session's transaction; returns the job id."""
    job_id = await session.scalar(
        _DEFER_SQL,
        {
            "queue": task.queue,
            "task": task.name,
            "priority": task.priority,
            "lock": lock if lock is not None else task.lock,
            "queueing_lock": queueing_lock if queueing_lock is not None else task.queueing_lock,
            "args": json.dumps(args, default=str),
            "scheduled_at": scheduled_at,
        },
    )
    assert job_id is not None
    return int(job_id)


async def record_failures(
    call_next: Callable[[], Awaitable[Any]], context: procrastinate.JobContext, worker: Any
) -> Any:
    """Worker middleware: keep every failed attempt's error next to the job."""
    try:
        return await call_next()
    except Exception as exc:
        job = context.job
        error = f"{type(exc).__name__}: {exc}"
        log.warning("job failed", extra={"job_id": job.id, "task": job.task_name, "error": error})
        # The failed job may have acted for anyone: its error record belongs to no one person.
        async with cross_users_transaction(runtime().database) as session:
            await session.execute(
                text(
                    "INSERT INTO job_errors (job_id, task_name, attempt, error, traceback) "
                    "VALUES (:job_id, :task, :attempt, :error, :tb)"
                ),
                {
                    "job_id": job.id,
                    "task": job.task_name,
                    "attempt": job.attempts + 1,
                    "error": error[:4000],
                    "tb": traceback.format_exc()[-16000:],
                },
            )
        raise


def job_connector(
    url: str, settings: Settings, *, max_size: int | None = None
) -> procrastinate.PsycopgConnector:
    """At most ``db_job_pool_size`` connections, with the same timeouts as every other pool of
    the process. A running worker's LISTEN is one of them: procrastinate opens it beside its pool
    (not from it), so the pool itself gets one fewer."""
    return procrastinate.PsycopgConnector(
        conninfo=libpq_conninfo(url, settings, "studyhall-jobs"),
        min_size=1,
        max_size=settings.db_job_pool_size - LISTEN_BESIDE_POOL if max_size is None else max_size,
    )


async def open_queue(url: str, settings: Settings, *, max_size: int | None = None) -> None:
    """Point the queue at ``url`` (what ``App.replace_connector`` does, without a block)."""
    connector = job_connector(url, settings, max_size=max_size)
    queue.connector = connector
    queue.job_manager.connector = connector
    await queue.open_async()


async def close_queue() -> None:
    await queue.close_async()


async def run_worker(
    *, concurrency: int, wait: bool = True, name: str = "studyhall", periodic: bool = True
) -> None:
    """Run jobs until cancelled (``wait``) or until none is left to run (``wait=False``).

    ``periodic=False`` runs without the periodic deferrer, so a test's run does only the jobs
    the test caused, whatever the wall clock says about cron schedules.
    """
    schedule = queue.periodic_registry.periodic_tasks
    saved = dict(schedule)
    if not periodic:
        schedule.clear()
    try:
        await queue.run_worker_async(
            concurrency=concurrency,
            wait=wait,
            name=name,
            install_signal_handlers=False,
            listen_notify=wait,
            update_heartbeat_interval=10.0,
            worker_middleware=[record_failures],
        )
    finally:
        schedule.update(saved)


async def run_worker_until_cancelled(
    *, concurrency: int, name: str = "studyhall", probe_interval_s: float = 1.0
) -> None:
    """Run jobs until cancelled, starting the worker again whenever it ends: a procrastinate
    worker ends at its first lost connection, by raising or, when a side task lost it and the
    database was back in time to unregister, by returning.

    The restart waits for the database to answer, then gives the queue a fresh connection pool:
    the old pool would retry its lost connections with a growing back-off and keep the worker
    (and with it ``/readyz``) down long after the database is back."""
    while True:
        try:
            await run_worker(concurrency=concurrency, name=name)
            # A worker that waits for jobs only ends on its own when one of its side tasks (the
            # heartbeat, the listener) failed: it unregisters and returns as if asked to stop.
            log.warning("the job worker stopped after a failed side task; it starts again")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the job worker stopped on an error; it starts again with the database")
        await _reopen_queue_when_database_answers(probe_interval_s)


async def _reopen_queue_when_database_answers(probe_interval_s: float) -> None:
    connector = queue.connector
    while True:
        await asyncio.sleep(probe_interval_s)
        try:
            await _probe_database()
            await connector.close_async()
            await connector.open_async()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("the job worker waits for the database: %s", type(exc).__name__)


async def _probe_database() -> None:
    """One short round trip on the process's own pool (which checks a connection before lending
    it), so a database still down fails fast here rather than in the queue's pool."""
    async with runtime().database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
