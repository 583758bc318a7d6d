"""Notifications HTTP: the caller's in-app inbox and its live stream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from sse_starlette import EventSourceResponse, ServerSentEvent

from studyhall.accounts.deps import CurrentUser, bearer, current_user
from studyhall.accounts.models import User
from studyhall.db.deps import Session, get_database
from studyhall.kit.paging import PageQuery
from studyhall.notifications.schemas import Marked, NotificationPage, NotificationRead, UnreadCount
from studyhall.notifications.service import inbox
from studyhall.notifications.service.live import STREAM_PING_S, inbox_events

router = APIRouter()


@router.get("/notifications", summary="List the caller's in-app notifications")
async def notifications_list(
    user: CurrentUser, session: Session, page: PageQuery, unread_only: bool = False
) -> NotificationPage:
    """The caller's in-app notifications, newest first; `unread_only` keeps the unread ones."""
    return await inbox.list_inbox(session, user, unread_only=unread_only, page=page)


@router.get("/notifications/unread-count", summary="Count the unread notifications")
async def notifications_unread_count(user: CurrentUser, session: Session) -> UnreadCount:
    """How many of the caller's in-app notifications are unread (what the bell shows)."""
    return UnreadCount(unread=await inbox.unread_count(session, user.id))


@router.post("/notifications/read-all", summary="Mark every notification read")
async def notifications_read_all(user: CurrentUser, session: Session) -> Marked:
    """Marks every unread in-app notification of the caller read; answers how many changed."""
    return Marked(marked=await inbox.mark_all_read(session, user))


@router.post("/notifications/{notification_id}/read", summary="Mark one notification read")
async def notification_read(
    notification_id: uuid.UUID, user: CurrentUser, session: Session
) -> NotificationRead:
    """Marks one of the caller's in-app notifications read (already read: unchanged)."""
    return await inbox.mark_read(session, user, notification_id)


@router.delete(
    "/notifications/{notification_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a notification from the inbox",
)
async def notification_delete(
    notification_id: uuid.UUID, user: CurrentUser, session: Session
) -> None:
    """Removes one notification from the caller's inbox (a soft delete)."""
    await inbox.delete(session, user, notification_id)


async def _stream_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    # Not the request-wide session: a stream lives for hours and must not hold a connection.
    async with get_database(request).transaction() as session:
        return await current_user(request, session, credentials)


async def _sent(request: Request, user: User) -> AsyncIterator[ServerSentEvent]:
    async for item in inbox_events(
        request.app.state,
        get_database(request),
        request.app.state.settings,
        user,
        request.headers.get("last-event-id"),
    ):
        yield ServerSentEvent(event=item.event, id=item.id, data=item.data)


@router.get(
    "/notifications/stream",
    summary="Follow new notifications live",
    response_class=EventSourceResponse,
)
async def notifications_stream(
    request: Request, user: Annotated[User, Depends(_stream_user)]
) -> EventSourceResponse:
    """Server-sent events: `ready` with the unread count, then each new notification (after
    those missed since `Last-Event-ID`, on a reconnect)."""
    return EventSourceResponse(_sent(request, user), ping=STREAM_PING_S)
