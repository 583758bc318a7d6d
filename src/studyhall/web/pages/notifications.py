"""The notification bell and the in-app inbox.

The bell's live count is the notifications domain's own event stream, signed in with the session
cookie: ``EventSource`` cannot send an ``Authorization`` header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import RedirectResponse, Response

from studyhall.accounts.models import User
from studyhall.db.deps import Session, get_database
from studyhall.kit.paging import PageRequest
from studyhall.notifications import service as notifications
from studyhall.web.deps import DetachedMemberPage, MemberPage
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 50


@router.get("/notifications", include_in_schema=False)
async def notifications_page(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    listed = await notifications.list_inbox(
        session, page.user, unread_only=False, page=PageRequest(limit=PAGE_SIZE, cursor=None)
    )
    return render(page, "notifications.html", items=listed.items)


@router.post("/notifications/read-all", include_in_schema=False)
async def read_all(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await notifications.mark_all_read(session, page.user)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/stream", include_in_schema=False)
async def bell_stream(request: Request, page: DetachedMemberPage) -> EventSourceResponse:
    # Signed in by a transaction of its own: a stream lives for hours and holds no connection.
    assert page.user is not None
    return EventSourceResponse(_sent(request, page.user), ping=notifications.STREAM_PING_S)


async def _sent(request: Request, user: User) -> AsyncIterator[ServerSentEvent]:
    async for item in notifications.inbox_events(
        request.app.state,
        get_database(request),
        request.app.state.settings,
        user,
        request.headers.get("last-event-id"),
    ):
        yield ServerSentEvent(event=item.event, id=item.id, data=item.data)
