"""The notification bell and the in-app inbox.

The bell's live count is the notifications domain's own event stream, signed in with the session
cookie: ``EventSource`` cannot send an ``Authorization`` header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse
from starlette.responses import RedirectResponse, Response

from studyhall.db.deps import Session
from studyhall.notifications import inbox
from studyhall.notifications.router import stream_for
from studyhall.web.deps import DetachedMemberPage, MemberPage
from studyhall.web.rendering import render

router = APIRouter()

PAGE_SIZE = 50


@router.get("/notifications", include_in_schema=False)
async def notifications_page(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    listed = await inbox.list_inbox(
        session, page.user, unread_only=False, limit=PAGE_SIZE, before=None
    )
    return render(page, "notifications.html", items=listed.items)


@router.post("/notifications/read-all", include_in_schema=False)
async def read_all(page: MemberPage, session: Session) -> Response:
    assert page.user is not None
    await inbox.mark_all_read(session, page.user)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/stream", include_in_schema=False)
async def bell_stream(request: Request, page: DetachedMemberPage) -> EventSourceResponse:
    # Signed in by a transaction of its own: a stream lives for hours and holds no connection.
    assert page.user is not None
    return stream_for(request, page.user)
