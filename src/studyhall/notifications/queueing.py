"""Deferring delivery jobs in bulk, in the caller's transaction (rule 3).

One ``procrastinate_defer_jobs_v1`` call defers a whole batch (a broadcast of a thousand rows is
one statement). Tasks are named here rather than imported, so the service does not import the
job module that imports the service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

QUEUE = "notifications"
# Fan-out has its own queue: a big broadcast's batches and the deliveries they create do not
# wait behind each other, and workers can be given one or the other.
BROADCAST_QUEUE = "notifications_broadcast"
DELIVER_TASK = "studyhall.notifications.deliver"
BROADCAST_TASK = "studyhall.notifications.broadcast_batch"

_DEFER_DELIVERIES = text(
    """
    SELECT cardinality(procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(:queue, :task, 0, NULL, NULL,
                   jsonb_build_object('notification_id', d.id::text), d.at
               )::procrastinate_job_to_defer_v1
        FROM unnest(CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[])) AS d(id, at)
    )))
    """
)

_DEFER_ONE = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        :queue, :task, 0, NULL, NULL, CAST(:args AS jsonb), NULL
    )::procrastinate_job_to_defer_v1]))
    """
)


async def defer_deliveries(
    session: AsyncSession, deliveries: Sequence[tuple[uuid.UUID, datetime]]
) -> int:
    """One delivery job per ``(notification id, when)``.

    No procrastinate ``lock``: its fetch query compares every waiting job's lock with every other
    job's, which is quadratic in a queue of 100,000 distinct locks. Two jobs for one notification
    (an admin retry, a reschedule) are kept apart by the row's ``claimed_until`` instead.
    """
    if not deliveries:
        return 0
    deferred = await session.scalar(
        _DEFER_DELIVERIES,
        {
            "queue": QUEUE,
            "task": DELIVER_TASK,
            "ids": [notification_id for notification_id, _ in deliveries],
            "ats": [at for _, at in deliveries],
        },
    )
    return int(deferred or 0)


async def defer_broadcast_batch(session: AsyncSession, args: dict[str, Any]) -> int:
    job_id = await session.scalar(
        _DEFER_ONE, {"queue": BROADCAST_QUEUE, "task": BROADCAST_TASK, "args": json.dumps(args)}
    )
    assert job_id is not None
    return int(job_id)
