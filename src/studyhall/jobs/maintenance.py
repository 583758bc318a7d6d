"""Housekeeping: the queue's own tables. (The nightly backup is ``privacy.jobs``: it copies
the dump off-site through the file storage, which sits above this layer.)"""

from __future__ import annotations

from sqlalchemy import text

from studyhall.db.rls import cross_users_transaction
from studyhall.jobs.core import queue, runtime
from studyhall.kit.idempotency import KEY_RETENTION_HOURS

FINISHED_JOB_RETENTION_DAYS = 14
JOB_ERROR_RETENTION_DAYS = 90


@queue.periodic(cron="17 3 * * *")
@queue.task(name="studyhall.purge_finished_jobs", queue="maintenance")
async def purge_finished_jobs(timestamp: int) -> None:
    """Succeeded and cancelled jobs go after two weeks; failed ones stay for a person to look at.
    Idempotency keys are everyone's rows under row level security: the purge crosses users."""
    async with cross_users_transaction(runtime().database) as session:
        await session.execute(
            text(
                "DELETE FROM procrastinate_jobs WHERE status IN ('succeeded', 'cancelled') "
                "AND id IN (SELECT job_id FROM procrastinate_events GROUP BY job_id "
                "HAVING max(at) < now() - make_interval(days => :days))"
            ),
            {"days": FINISHED_JOB_RETENTION_DAYS},
        )
        await session.execute(
            text("DELETE FROM job_errors WHERE created_at < now() - make_interval(days => :days)"),
            {"days": JOB_ERROR_RETENTION_DAYS},
        )
        await session.execute(
            text(
                "DELETE FROM idempotency_keys "
                "WHERE created_at < now() - make_interval(hours => :hours)"
            ),
            {"hours": KEY_RETENTION_HOURS},
        )
