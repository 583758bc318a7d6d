"""Notifications HTTP for admins: broadcasts, the delivery failures, retrying them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, status

from studyhall.accounts.deps import Admin
from studyhall.db.rls import SystemSession
from studyhall.kit import idempotency
from studyhall.kit.paging import PageQuery
from studyhall.notifications.schemas import (
    AdminNotificationPage,
    AdminNotificationRead,
    BroadcastCreate,
    BroadcastPage,
    BroadcastRead,
)
from studyhall.notifications.service import admin, broadcast

router = APIRouter(prefix="/admin/notifications")

BROADCAST_SCOPE = "POST /admin/notifications/broadcast"


@router.post(
    "/broadcast",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BroadcastRead,
    summary="Send a system update to one role or everyone",
)
async def broadcasts_create(
    data: BroadcastCreate,
    user: Admin,
    session: SystemSession,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> Any:
    """Notifies every active user of the role (or everyone), in batches run by the job queue.
    Send an `Idempotency-Key`: a double submit must not message everyone twice."""
    claimed = await idempotency.claim(session, key, user.id, BROADCAST_SCOPE, data)
    if claimed.replay is not None:
        return claimed.replay
    started = BroadcastRead.model_validate(await broadcast.start(session, user, data))
    await idempotency.remember(session, claimed, status.HTTP_202_ACCEPTED, started)
    return started


@router.get("/broadcasts", summary="List broadcasts and their progress")
async def broadcasts_list(user: Admin, session: SystemSession, page: PageQuery) -> BroadcastPage:
    """Broadcasts, newest first, with how far each has got."""
    rows = await broadcast.latest(session, page.limit + 1, page.key(datetime, uuid.UUID))
    shown, next_cursor = page.of(rows, lambda row: (row.created_at, row.id))
    return BroadcastPage(
        items=[BroadcastRead.model_validate(row) for row in shown], next_cursor=next_cursor
    )


@router.get("/broadcasts/{broadcast_id}", summary="Get one broadcast's progress")
async def broadcast_get(
    broadcast_id: uuid.UUID, user: Admin, session: SystemSession
) -> BroadcastRead:
    """One broadcast: its recipients, the users reached and batches run so far."""
    return BroadcastRead.model_validate(await broadcast.get(session, broadcast_id))


@router.get("", summary="List every user's notifications by status")
async def admin_notifications_list(
    user: Admin,
    session: SystemSession,
    page: PageQuery,
    status: Literal["pending", "sent", "failed", "read", "canceled"] = "failed",
) -> AdminNotificationPage:
    """Notifications of every user in one delivery status (failures by default), newest first."""
    rows = await admin.list_by_status(
        session, status, page.limit + 1, page.key(datetime, uuid.UUID)
    )
    shown, next_cursor = page.of(rows, lambda row: (row.created_at, row.id))
    return AdminNotificationPage(
        items=[AdminNotificationRead.model_validate(row) for row in shown], next_cursor=next_cursor
    )


@router.post("/{notification_id}/retry", summary="Deliver a failed notification again")
async def admin_notification_retry(
    notification_id: uuid.UUID, user: Admin, session: SystemSession
) -> AdminNotificationRead:
    """Delivers a failed (or stuck pending) notification now, with a fresh retry budget."""
    return AdminNotificationRead.model_validate(await admin.retry(session, user, notification_id))
