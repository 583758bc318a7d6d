"""Admin broadcast of a ``system_update``: a chain of batch jobs, each enqueuing the next.

Every batch writes its rows, defers their deliveries and defers the next batch in one transaction,
so a crash repeats at most one batch, and the dedupe key ``system_update:<broadcast>:<channel>``
makes the repeat add nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.jobs import runtime
from studyhall.notifications import recipients
from studyhall.notifications.access import system_session
from studyhall.notifications.config import get_config
from studyhall.notifications.queueing import defer_broadcast_batch
from studyhall.notifications.schemas import BroadcastCreate, BroadcastStarted
from studyhall.notifications.service import insert_planned, plan_for

TYPE = "system_update"
_FIRST = uuid.UUID(int=0)
_COUNT = text(
    "SELECT count(*) FROM users WHERE deleted_at IS NULL AND status = 'active' "
    "AND (CAST(:role AS text) IS NULL OR role = :role)"
)


async def start(session: AsyncSession, admin: User, data: BroadcastCreate) -> BroadcastStarted:
    broadcast_id = uuid.uuid4()
    count = int(await session.scalar(_COUNT, {"role": data.role}) or 0)
    await defer_broadcast_batch(
        session,
        {
            "broadcast_id": str(broadcast_id),
            "role": data.role,
            "title": data.title,
            "body": data.body,
            "channels": data.channels,
            "after": str(_FIRST),
        },
    )
    await audit.record(
        session,
        admin.id,
        "notification.broadcast",
        "broadcast",
        broadcast_id,
        {"role": data.role, "title": data.title, "channels": data.channels, "recipients": count},
    )
    return BroadcastStarted(
        broadcast_id=broadcast_id, recipients=count, batch_size=get_config().broadcast_batch_size
    )


async def run_batch(
    broadcast_id: uuid.UUID,
    role: str | None,
    title: str,
    body: str,
    channels: Sequence[str] | None,
    after: uuid.UUID,
) -> int:
    """Notify the next batch of users after ``after``; the number of users in this batch."""
    size = get_config().broadcast_batch_size
    async with runtime().database.transaction() as session:
        await system_session(session)
        people = await recipients.page(session, TYPE, role, after, size)
        now = datetime.now(UTC)
        payload = {"title": title, "body": body, "broadcast_id": str(broadcast_id)}
        planned = [
            item
            for person in people
            for item in plan_for(
                person,
                TYPE,
                payload,
                channels=channels,
                urgent=False,
                due=now,
                now=now,
                dedupe_key=f"{TYPE}:{broadcast_id}",
            )
        ]
        await insert_planned(session, planned)
        if len(people) == size:
            await defer_broadcast_batch(
                session,
                {
                    "broadcast_id": str(broadcast_id),
                    "role": role,
                    "title": title,
                    "body": body,
                    "channels": list(channels) if channels is not None else None,
                    "after": str(people[-1].user_id),
                },
            )
    return len(people)
