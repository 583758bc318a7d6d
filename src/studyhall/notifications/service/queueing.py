"""Deferring delivery jobs in bulk, in the caller's transaction: the job exists only if the
notification row does.

One ``procrastinate_defer_jobs_v1`` call defers a whole batch (a broadcast of a thousand rows is
one statement). Tasks are named here rather than imported, so the service does not import the
job module that imports the service.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
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

# A delivery job carries up to this many notifications due at the same instant: a broadcast of
# 100,000 emails is 2,000 jobs, and the queue's per-job cost is paid once per group.
DELIVERY_GROUP = 50

_DEFER_DELIVERIES = text(
    """
    SELECT cardinality(procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(:queue, :task, 0, NULL, NULL, d.args, d.at)::procrastinate_job_to_defer_v1
        FROM unnest(CAST(:args AS jsonb[]), CAST(:ats AS timestamptz[])) AS d(args, at)
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
    """Delivery jobs for ``(notification id, when)`` pairs, grouped by ``when``; the job count.

    No procrastinate ``lock``: its fetch query compares every waiting job's lock with every other
    job's, which is quadratic in a long queue. Two jobs for one notification (an admin retry, a
    reschedule) are kept apart by the row's ``claimed_until`` instead.
    """
    by_time: dict[datetime, list[str]] = defaultdict(list)
    for notification_id, at in deliveries:
        by_time[at].append(str(notification_id))
    groups = [
        (ids[start : start + DELIVERY_GROUP], at)
        for at, ids in sorted(by_time.items())
        for start in range(0, len(ids), DELIVERY_GROUP)
    ]
    if not groups:
        return 0
    deferred = await session.scalar(
        _DEFER_DELIVERIES,
        {
            "queue": QUEUE,
            "task": DELIVER_TASK,
            "args": [json.dumps({"notification_ids": ids}) for ids, _ in groups],
            "ats": [at for _, at in groups],
        },
    )
    return int(deferred or 0)


async def defer_broadcast_batch(session: AsyncSession, args: dict[str, Any]) -> int:
    job_id = await session.scalar(
        _DEFER_ONE, {"queue": BROADCAST_QUEUE, "task": BROADCAST_TASK, "args": json.dumps(args)}
    )
    assert job_id is not None
    return int(job_id)
