"""Housekeeping: the queue's own tables, and the nightly backup."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from studyhall.db import backup
from studyhall.jobs.core import queue, runtime
from studyhall.kit.idempotency import KEY_RETENTION_HOURS

FINISHED_JOB_RETENTION_DAYS = 14
JOB_ERROR_RETENTION_DAYS = 90


@queue.periodic(cron="17 3 * * *")
@queue.task(name="studyhall.purge_finished_jobs", queue="maintenance")
async def purge_finished_jobs(timestamp: int) -> None:
    """Succeeded and cancelled jobs go after two weeks; failed ones stay for a person to look at."""
    async with runtime().database.transaction() as session:
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


log = logging.getLogger(__name__)


@queue.periodic(cron="30 2 * * *")
@queue.task(name="studyhall.nightly_backup", queue="maintenance")
async def nightly_backup(timestamp: int) -> None:
    """A dump as the owner role (the API role cannot read past row level security)."""
    settings = runtime().settings
    if not settings.backup_daily or settings.database_url is None:
        return
    path = await asyncio.to_thread(
        backup.backup, settings.database_url, settings.backups_dir, settings.backup_keep
    )
    log.info("backup written", extra={"path": str(path)})
