"""Google Calendar connections in the web app. A tutor's on ``/teach/google-calendar``; a
student's (or a guardian's) on their ``/calendar`` page. Connect (the browser goes to Google's
consent page and comes back through the API's callback, which redirects to
``STUDYHALL_GOOGLE_OAUTH_DONE_URL``: point it at ``/calendar/google/done``, which sends each
person on to their own page), choose the calendar, see the status, disconnect.

The steps are the scheduling service's, as the API's ``/calendar/google`` routes use them for
anyone signed in: Google is only called with no transaction open (the detached page
dependency), and a calendar is only chosen once Google has answered that this connection can
read it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from studyhall.config import Settings
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import Forbidden, NotFound, ServiceUnavailable, Unprocessable
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.schemas import GoogleCalendarChoice
from studyhall.web.deps import DetachedMemberPage, MemberPage
from studyhall.web.messages import notice
from studyhall.web.pages.teaching import TutorPage
from studyhall.web.rendering import Visit, render

router = APIRouter()

PAGE = "/teach/google-calendar"
# A student's connection lives on their calendar page; its actions sit under this path.
MINE = "/calendar/google"
CALENDAR_PAGE = "/calendar"
Notice = Annotated[str | None, Query(alias="notice", max_length=40)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def detached_tutor(page: DetachedMemberPage) -> Visit:
    """A tutor, checked before the page calls Google with no transaction open."""
    assert page.user is not None
    if page.user.role != "tutor":
        raise Forbidden("This needs the tutor role.", code="role_required")
    return page


DetachedTutorPage = Annotated[Visit, Depends(detached_tutor)]


def _see(key: str, page: str = PAGE) -> RedirectResponse:
    return RedirectResponse(f"{page}?notice={key}", status_code=303)


async def connection_context(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """What a connection section shows: whether the server can connect at all, the connection
    (or None) and when its busy times were last fetched."""
    account = await scheduling.google_connection(session, user_id)
    return {
        "configured": bool(scheduling_settings().google_oauth_client_id),
        "account": account,
        "busy_synced_at": (
            None if account is None else await scheduling.google_busy_synced_at(session, user_id)
        ),
    }


@router.get(PAGE, include_in_schema=False)
async def google_calendar_page(
    page: TutorPage, session: Session, notice_key: Notice = None
) -> Response:
    assert page.user is not None
    return render(
        page,
        "teach_google_calendar.html",
        **await connection_context(session, page.user.id),
        notice=notice(page.viewer, notice_key),
    )


@router.get(f"{MINE}/done", include_in_schema=False)
async def google_calendar_done(page: MemberPage, notice_key: Notice = None) -> Response:
    """Where the API's callback sends the browser back (``STUDYHALL_GOOGLE_OAUTH_DONE_URL``):
    a tutor to the teaching page, anyone else to their calendar page, the notice kept."""
    assert page.user is not None
    target = PAGE if page.user.role == "tutor" else CALENDAR_PAGE
    query = f"?{urlencode({'notice': notice_key})}" if notice_key else ""
    return RedirectResponse(f"{target}{query}", status_code=303)


@router.get(f"{PAGE}/connect", include_in_schema=False)
async def google_calendar_connect(request: Request, page: TutorPage) -> Response:
    """To Google's consent page; Google sends the browser back to the API's callback.

    A link, not a form: the pages' CSP lets forms post to this site only (``form-action
    'self'``, which also covers where a form's answer redirects). Nothing is stored here; the
    PKCE verifier travels sealed in ``state``, so following the link twice is harmless."""
    assert page.user is not None
    return _to_google(request, page.user.id)


@router.get(f"{MINE}/connect", include_in_schema=False)
async def my_google_calendar_connect(request: Request, page: MemberPage) -> Response:
    """The same for a student: the API lets anyone signed in connect their calendar, and the
    bookings they make are then written to it."""
    assert page.user is not None
    return _to_google(request, page.user.id)


def _to_google(request: Request, user_id: uuid.UUID) -> Response:
    url = scheduling.google_authorization_url(_settings(request), user_id, scheduling.utcnow())
    return RedirectResponse(url, status_code=303)


@router.post(f"{PAGE}/calendar", include_in_schema=False)
async def google_calendar_choose(request: Request, page: DetachedTutorPage) -> Response:
    assert page.user is not None
    await _choose(request, page.user.id)
    return _see("calendar_chosen")


@router.post(f"{MINE}/calendar", include_in_schema=False)
async def my_google_calendar_choose(request: Request, page: DetachedMemberPage) -> Response:
    assert page.user is not None
    await _choose(request, page.user.id)
    return _see("my_calendar_chosen", CALENDAR_PAGE)


async def _choose(request: Request, user_id: uuid.UUID) -> None:
    form = await request.form()
    try:
        choice = GoogleCalendarChoice.model_validate({"calendar_id": form.get("calendar_id")})
    except ValidationError as exc:
        raise Unprocessable("Enter a calendar ID.", code="calendar_id_required") from exc
    database, settings, now = get_database(request), _settings(request), scheduling.utcnow()
    await scheduling.fresh_google_access(database, settings, user_id, now)
    async with database.transaction(user_id) as session:
        access = await scheduling.google_calendar_access(session, user_id)
    if access is None:
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    chosen = scheduling.GoogleCalendarAccess(access.access_token, choice.calendar_id)
    # Google answers a calendar this grant cannot read with an error for that calendar.
    answer = await scheduling.google_free_busy(chosen, now)
    try:
        scheduling.google_busy_intervals(answer, choice.calendar_id, now)
    except ServiceUnavailable as exc:
        raise Unprocessable(
            "Google cannot read that calendar with this connection.",
            code="calendar_not_readable",
        ) from exc
    async with database.transaction(user_id) as session:
        await scheduling.choose_google_calendar(session, user_id, choice.calendar_id)
    await scheduling.refresh_google_busy(database, settings, user_id, now)


@router.post(f"{PAGE}/disconnect", include_in_schema=False)
async def google_calendar_disconnect(request: Request, page: DetachedTutorPage) -> Response:
    """The grant is revoked at Google, the tokens erased, the cached busy times forgotten."""
    assert page.user is not None
    await _disconnect(request, page.user.id)
    return _see("google_disconnected")


@router.post(f"{MINE}/disconnect", include_in_schema=False)
async def my_google_calendar_disconnect(request: Request, page: DetachedMemberPage) -> Response:
    assert page.user is not None
    await _disconnect(request, page.user.id)
    return _see("google_disconnected", CALENDAR_PAGE)


async def _disconnect(request: Request, user_id: uuid.UUID) -> None:
    database = get_database(request)
    if not await scheduling.disconnect_google(database, _settings(request), user_id):
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    async with database.transaction(user_id) as session:
        await scheduling.forget_google_busy(session, user_id)
