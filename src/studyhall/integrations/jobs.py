"""Webhook jobs: one attempt per job (``deliver_webhook``), a sweep that re-queues deliveries
whose job was lost, and a nightly purge of old settled deliveries.

Retries are scheduled by the domain itself (``retry_schedule_s``), each as a new job at its due
time, so the wait between attempts is a setting rather than the queue's built-in backoff."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.rls import cross_users
from studyhall.integrations.config import get_config
from studyhall.integrations.service.history import due, purge
from studyhall.integrations.service.sender import deliver
from studyhall.jobs.core import enqueue, queue, runtime

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
# A pending delivery this late has no job waiting for it.
OVERDUE = timedelta(minutes=2)


@queue.task(name="studyhall.integrations.deliver_webhook", queue="webhooks")
async def deliver_webhook(delivery_id: str) -> None:
    rt = runtime()
    outcome = await deliver(
        rt.database, rt.settings, get_config(), uuid.UUID(delivery_id), schedule_attempt
    )
    if outcome is not None and outcome.error is not None:
        log.info(
            "webhook attempt failed",
            extra={"delivery_id": delivery_id, "error": outcome.error},
        )


async def schedule_attempt(
    session: AsyncSession, delivery_id: uuid.UUID, at: datetime | None = None
) -> int:
    """Queue an attempt of ``delivery_id`` (at ``at``, or now) in the session's transaction."""
    return await enqueue(session, deliver_webhook, scheduled_at=at, delivery_id=str(delivery_id))


@queue.periodic(cron="* * * * *")
@queue.task(name="studyhall.integrations.sweep_webhooks", queue="webhooks")
async def sweep_webhooks(timestamp: int) -> None:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        lost = await due(session, OVERDUE, SWEEP_BATCH)
        for delivery_id in lost:
            await schedule_attempt(session, delivery_id)
    if lost:
        log.warning("webhook deliveries re-queued", extra={"count": len(lost)})


@queue.periodic(cron="41 3 * * *")
@queue.task(name="studyhall.integrations.purge_webhook_deliveries", queue="maintenance")
async def purge_webhook_deliveries(timestamp: int) -> None:
    days = get_config().delivery_retention_days
    async with runtime().database.transaction() as session:
        await cross_users(session)
        purged = await purge(session, timedelta(days=days))
    log.info("old webhook deliveries purged", extra={"count": purged})
