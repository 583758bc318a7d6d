"""Admin paths across users: the delivery queue's failures and retrying them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit.cursors import CursorValue
from studyhall.kit.errors import Conflict, NotFound
from studyhall.kit.paging import after
from studyhall.notifications.models import Notification
from studyhall.notifications.service.queueing import defer_deliveries

RETRYABLE = ("failed", "pending")


async def list_by_status(
    session: AsyncSession, status: str, limit: int, after_key: tuple[CursorValue, ...] | None
) -> list[Notification]:
    """Every user's notifications in ``status``, newest first; up to ``limit`` rows after the
    keyset ``after_key`` (created_at, id). The caller's transaction crosses users (an admin)."""
    query = select(Notification).where(
        Notification.status == status, Notification.deleted_at.is_(None)
    )
    condition = after(
        [Notification.created_at.expression, Notification.id.expression], after_key, descending=True
    )
    if condition is not None:
        query = query.where(condition)
    rows = await session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    )
    return list(rows.all())


async def retry(session: AsyncSession, admin: User, notification_id: uuid.UUID) -> Notification:
    """Deliver a failed (or stuck pending) notification now, with a fresh retry budget."""
    notification = await session.scalar(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    )
    if notification is None or notification.is_deleted:
        raise NotFound("No such notification.", code="notification_not_found")
    if notification.status not in RETRYABLE:
        raise Conflict(
            f"The notification is {notification.status}; only failed or pending ones can "
            "be retried.",
            code="notification_not_retryable",
            current_status=notification.status,
        )
    before = notification.status
    notification.status = "pending"
    notification.scheduled_for = datetime.now(UTC)
    notification.claimed_until = None
    await session.flush()
    await defer_deliveries(session, [(notification.id, notification.scheduled_for)])
    await audit.record(
        session,
        admin.id,
        "notification.retry",
        "notification",
        notification.id,
        {"status": [before, "pending"]},
    )
    return notification
