"""Notification jobs: delivering one notification, and one batch of a broadcast."""

from __future__ import annotations

import uuid

import procrastinate

from studyhall.jobs import backoff, queue
from studyhall.notifications.service import broadcast, delivery
from studyhall.notifications.service.queueing import (
    BROADCAST_QUEUE,
    BROADCAST_TASK,
    DELIVER_TASK,
    QUEUE,
)

# Waits of 3, 9, 27, 81, 243 and 729 s: a provider down for about twenty minutes loses nothing,
# and after that the row stays ``failed`` for an admin to retry.
DELIVERY_RETRIES = 6


@queue.task(
    name=DELIVER_TASK,
    queue=QUEUE,
    retry=backoff(retries=DELIVERY_RETRIES, wait_s=3),
    pass_context=True,
)
async def deliver_notifications(
    context: procrastinate.JobContext, notification_ids: list[str]
) -> None:
    attempts = context.job.attempts if context.job else 0
    await delivery.deliver(
        [uuid.UUID(notification_id) for notification_id in notification_ids],
        final_attempt=attempts >= DELIVERY_RETRIES,
    )


@queue.task(name=BROADCAST_TASK, queue=BROADCAST_QUEUE, retry=backoff(retries=6, wait_s=3))
async def broadcast_batch(broadcast_id: str, after: str) -> None:
    await broadcast.run_batch(uuid.UUID(broadcast_id), uuid.UUID(after))
