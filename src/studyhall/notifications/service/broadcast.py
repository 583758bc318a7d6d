"""Admin broadcast of a ``system_update``: a chain of batch jobs, each enqueuing the next.

Every batch writes its rows, defers their deliveries, counts its progress on the broadcast row and
defers the next batch in one transaction, so a crash repeats at most one batch, and the dedupe key
``system_update:<broadcast>:<channel>`` makes the repeat add no notification.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.db.rls import cross_users
from studyhall.jobs import runtime
from studyhall.kit.cursors import CursorValue
from studyhall.kit.errors import NotFound
from studyhall.kit.paging import after
from studyhall.notifications.config import get_config
from studyhall.notifications.models import NotificationBroadcast
from studyhall.notifications.schemas import BroadcastCreate
from studyhall.notifications.service import recipients
from studyhall.notifications.service.queueing import defer_broadcast_batch
from studyhall.notifications.service.sending import insert_planned, plan_for

TYPE = "system_update"
_FIRST = uuid.UUID(int=0)
_COUNT = text(
    "SELECT count(*) FROM users WHERE deleted_at IS NULL AND status = 'active' "
    "AND (CAST(:role AS text) IS NULL OR role = :role)"
)


async def start(session: AsyncSession, admin: User, data: BroadcastCreate) -> NotificationBroadcast:
    count = int(await session.scalar(_COUNT, {"role": data.role}) or 0)
    broadcast = NotificationBroadcast(
        created_by=admin.id,
        role=data.role,
        channels=data.channels,
        title=data.title,
        body=data.body,
        recipients=count,
    )
    session.add(broadcast)
    await session.flush()
    await session.refresh(broadcast)
    await defer_broadcast_batch(session, {"broadcast_id": str(broadcast.id), "after": str(_FIRST)})
    await audit.record(
        session,
        admin.id,
        "notification.broadcast",
        "notification_broadcast",
        broadcast.id,
        {"role": data.role, "title": data.title, "channels": data.channels, "recipients": count},
    )
    return broadcast


async def get(session: AsyncSession, broadcast_id: uuid.UUID) -> NotificationBroadcast:
    broadcast = await session.get(NotificationBroadcast, broadcast_id)
    if broadcast is None:
        raise NotFound("No such broadcast.", code="broadcast_not_found")
    return broadcast


async def latest(
    session: AsyncSession, limit: int, after_key: tuple[CursorValue, ...] | None
) -> list[NotificationBroadcast]:
    """Broadcasts newest first, up to ``limit`` after the keyset ``after_key`` (created_at, id)."""
    query = select(NotificationBroadcast)
    condition = after(
        [NotificationBroadcast.created_at.expression, NotificationBroadcast.id.expression],
        after_key,
        descending=True,
    )
    if condition is not None:
        query = query.where(condition)
    rows = await session.scalars(
        query.order_by(
            NotificationBroadcast.created_at.desc(), NotificationBroadcast.id.desc()
        ).limit(limit)
    )
    return list(rows.all())


async def run_batch(broadcast_id: uuid.UUID, after: uuid.UUID) -> int:
    """Notify the next batch of users after ``after`` (by id); the number of users in it."""
    size = get_config().broadcast_batch_size
    async with runtime().database.transaction() as session:
        await cross_users(session)
        broadcast = await session.get(NotificationBroadcast, broadcast_id)
        if broadcast is None:
            return 0
        people = await recipients.page(session, TYPE, broadcast.role, after, size)
        now = datetime.now(UTC)
        payload = {
            "title": broadcast.title,
            "body": broadcast.body,
            "broadcast_id": str(broadcast_id),
        }
        planned = [
            item
            for person in people
            for item in plan_for(
                person,
                TYPE,
                payload,
                channels=broadcast.channels,
                urgent=False,
                due=now,
                now=now,
                dedupe_key=f"{TYPE}:{broadcast_id}",
            )
        ]
        created = await insert_planned(session, planned)
        last = len(people) < size
        await session.execute(
            update(NotificationBroadcast)
            .where(NotificationBroadcast.id == broadcast_id)
            .values(
                batches=NotificationBroadcast.batches + 1,
                # Counted from rows actually written, so a repeated batch adds nothing.
                users_reached=NotificationBroadcast.users_reached
                + len({row.user_id for row in created}),
                notifications_created=NotificationBroadcast.notifications_created + len(created),
                finished_at=func.coalesce(NotificationBroadcast.finished_at, func.now())
                if last
                else NotificationBroadcast.finished_at,
            )
        )
        if not last:
            await defer_broadcast_batch(
                session, {"broadcast_id": str(broadcast_id), "after": str(people[-1].user_id)}
            )
    return len(people)
