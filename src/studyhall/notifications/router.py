"""Notifications HTTP: the in-app inbox and its stream, preferences, quiet hours, unsubscribe,
and the admin paths (broadcast, failures, retry)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials
from sse_starlette import EventSourceResponse, ServerSentEvent

from studyhall.accounts.deps import Admin, CurrentUser, bearer, current_user
from studyhall.accounts.models import User
from studyhall.db.deps import Session, get_database
from studyhall.db.engine import libpq_conninfo
from studyhall.kit import idempotency
from studyhall.kit.errors import BadRequest, NotFound
from studyhall.notifications import admin, broadcast, inbox
from studyhall.notifications.schemas import (
    AdminNotificationRead,
    BroadcastCreate,
    BroadcastRead,
    Marked,
    NotificationPage,
    NotificationRead,
    PreferenceRead,
    PreferencesUpdate,
    QuietHours,
    QuietHoursUpdate,
    UnreadCount,
)
from studyhall.notifications.stream import Hub
from studyhall.notifications.unsubscribe import UnsubscribeClaim, read_token

router = APIRouter(tags=["notifications"])

STREAM_PING_S = 15


@router.get("/notifications", summary="The caller's in-app notifications, newest first")
async def list_notifications(
    user: CurrentUser,
    session: Session,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: uuid.UUID | None = None,
) -> NotificationPage:
    return await inbox.list_inbox(
        session, user, unread_only=unread_only, limit=limit, before=before
    )


@router.get("/notifications/unread-count", summary="How many in-app notifications are unread")
async def unread_count(user: CurrentUser, session: Session) -> UnreadCount:
    return UnreadCount(unread=await inbox.unread_count(session, user.id))


@router.post("/notifications/read-all", summary="Mark every in-app notification read")
async def read_all(user: CurrentUser, session: Session) -> Marked:
    return Marked(marked=await inbox.mark_all_read(session, user))


@router.get(
    "/notifications/preferences", summary="Every type and channel, with the caller's choice"
)
async def get_preferences(user: CurrentUser, session: Session) -> list[PreferenceRead]:
    return await inbox.preferences(session, user.id)


@router.put("/notifications/preferences", summary="Turn types on or off per channel")
async def put_preferences(
    data: PreferencesUpdate, user: CurrentUser, session: Session
) -> list[PreferenceRead]:
    return await inbox.set_preferences(session, user, data.preferences)


@router.get("/notifications/quiet-hours", summary="The caller's quiet hours (local times)")
async def get_quiet_hours(user: CurrentUser, session: Session) -> QuietHours:
    return await inbox.quiet_hours(session, user)


@router.put("/notifications/quiet-hours", summary="Set or clear the caller's quiet hours")
async def put_quiet_hours(
    data: QuietHoursUpdate, user: CurrentUser, session: Session
) -> QuietHours:
    return await inbox.set_quiet_hours(session, user, data)


def _claim(request: Request, token: str) -> UnsubscribeClaim:
    claim = read_token(request.app.state.settings.secret_key.get_secret_value(), token)
    if claim is None:
        raise BadRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
    return claim


@router.get(
    "/notifications/unsubscribe",
    response_class=HTMLResponse,
    summary="Confirm page for an email unsubscribe link (public; the signed token is the key)",
)
async def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    # A GET changes nothing: mail scanners open links. The page posts to the one-click URL.
    claim = _claim(request, token)
    label = claim.type.replace("_", " ")
    return HTMLResponse(
        "<!doctype html><title>Unsubscribe</title>"
        f"<form method='post'><p>Stop {label} emails?</p>"
        "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
        "<button type='submit'>Unsubscribe</button></form>"
    )


@router.post(
    "/notifications/unsubscribe",
    summary="One-click unsubscribe, RFC 8058 (public; the signed token is the key)",
)
async def unsubscribe(request: Request, token: str, session: Session) -> dict[str, str]:
    claim = _claim(request, token)
    if not await inbox.unsubscribe(session, claim):
        raise BadRequest("This unsubscribe link is not valid.", code="invalid_unsubscribe_token")
    return {"type": claim.type, "channel": "email", "status": "unsubscribed"}


@router.post("/notifications/{notification_id}/read", summary="Mark one notification read")
async def read_one(
    notification_id: uuid.UUID, user: CurrentUser, session: Session
) -> NotificationRead:
    return await inbox.mark_read(session, user, notification_id)


@router.delete(
    "/notifications/{notification_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a notification from the caller's inbox",
)
async def delete_notification(
    notification_id: uuid.UUID, user: CurrentUser, session: Session
) -> None:
    await inbox.delete(session, user, notification_id)


async def _stream_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    # Not the request-wide session: a stream lives for hours and must not hold a connection.
    async with get_database(request).transaction() as session:
        return await current_user(request, session, credentials)


def _hub(request: Request) -> Hub:
    hub: Hub | None = getattr(request.app.state, "notification_hub", None)
    if hub is None:
        engine_url = get_database(request).engine.url
        url = engine_url.render_as_string(hide_password=False)
        hub = Hub(libpq_conninfo(url, request.app.state.settings, "studyhall-listen"))
        request.app.state.notification_hub = hub
    return hub


def _event_id(value: str | None) -> uuid.UUID | None:
    try:
        return None if value is None else uuid.UUID(value)
    except ValueError:
        return None


@router.get(
    "/notifications/stream",
    summary="Server-sent events: `ready` with the unread count, then each new notification "
    "(after those missed since `Last-Event-ID`, on a reconnect)",
    response_class=EventSourceResponse,
)
async def stream(
    request: Request, user: Annotated[User, Depends(_stream_user)]
) -> EventSourceResponse:
    return stream_for(request, user)


def stream_for(request: Request, user: User) -> EventSourceResponse:
    """The event stream of ``user``, already signed in (by bearer header here; the web app's
    bell signs in with its session cookie, since ``EventSource`` cannot send a header)."""
    database = get_database(request)
    hub = _hub(request)
    last_seen = _event_id(request.headers.get("last-event-id"))

    async def events() -> AsyncIterator[ServerSentEvent]:
        async with hub.subscribe(user.id) as queue:
            async with database.transaction(user.id) as session:
                unread = await inbox.unread_count(session, user.id)
                missed = [] if last_seen is None else await inbox.since(session, user, last_seen)
            yield ServerSentEvent(event="ready", data=json.dumps({"unread": unread}))
            for item in missed:
                yield ServerSentEvent(
                    event="notification", id=str(item.id), data=item.model_dump_json()
                )
            while True:
                notification_id = await queue.get()
                async with database.transaction(user.id) as session:
                    try:
                        found = await inbox.get_own(session, user.id, notification_id)
                    except NotFound:
                        continue
                    item = inbox.to_read(found, user)
                yield ServerSentEvent(
                    event="notification", id=str(item.id), data=item.model_dump_json()
                )

    return EventSourceResponse(events(), ping=STREAM_PING_S)


BROADCAST_SCOPE = "POST /admin/notifications/broadcast"


@router.post(
    "/admin/notifications/broadcast",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BroadcastRead,
    summary="Send a system update to one role or everyone, in batches "
    "(send an Idempotency-Key: a double submit must not message everyone twice)",
)
async def post_broadcast(
    data: BroadcastCreate,
    user: Admin,
    session: Session,
    key: Annotated[str | None, Depends(idempotency.idempotency_key_header)],
) -> Any:
    claimed = await idempotency.claim(session, key, user.id, BROADCAST_SCOPE, data)
    if claimed.replay is not None:
        return claimed.replay
    started = BroadcastRead.model_validate(await broadcast.start(session, user, data))
    await idempotency.remember(session, claimed, status.HTTP_202_ACCEPTED, started)
    return started


@router.get("/admin/notifications/broadcasts", summary="The latest broadcasts and their progress")
async def list_broadcasts(
    user: Admin, session: Session, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[BroadcastRead]:
    return [BroadcastRead.model_validate(b) for b in await broadcast.latest(session, limit)]


@router.get("/admin/notifications/broadcasts/{broadcast_id}", summary="One broadcast's progress")
async def get_broadcast(broadcast_id: uuid.UUID, user: Admin, session: Session) -> BroadcastRead:
    return BroadcastRead.model_validate(await broadcast.get(session, broadcast_id))


@router.get("/admin/notifications", summary="Notifications of every user by status")
async def admin_list(
    user: Admin,
    session: Session,
    status: Literal["pending", "sent", "failed", "read", "canceled"] = "failed",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AdminNotificationRead]:
    rows = await admin.list_by_status(session, status, limit)
    return [AdminNotificationRead.model_validate(row) for row in rows]


@router.post(
    "/admin/notifications/{notification_id}/retry",
    summary="Deliver a failed notification again now",
)
async def admin_retry(
    notification_id: uuid.UUID, user: Admin, session: Session
) -> AdminNotificationRead:
    return AdminNotificationRead.model_validate(await admin.retry(session, user, notification_id))
