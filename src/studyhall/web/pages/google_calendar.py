"""A tutor's Google Calendar connection in the web app: connect (the browser goes to Google's
consent page and comes back through the API's callback, which redirects here when
``STUDYHALL_GOOGLE_OAUTH_DONE_URL`` names this page), choose the calendar, see the status,
disconnect.

The steps are the scheduling service's, as the API's ``/calendar/google`` routes use them:
Google is only called with no transaction open (the detached page dependency), and a calendar
is only chosen once Google has answered that this connection can read it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from studyhall.config import Settings
from studyhall.db.deps import Session, get_database
from studyhall.kit.errors import Forbidden, NotFound, ServiceUnavailable, Unprocessable
from studyhall.scheduling import service as scheduling
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.schemas import GoogleCalendarChoice
from studyhall.web.deps import DetachedMemberPage
from studyhall.web.messages import notice
from studyhall.web.pages.teaching import TutorPage
from studyhall.web.rendering import Visit, render

router = APIRouter()

PAGE = "/teach/google-calendar"
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


def _see(key: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?notice={key}", status_code=303)


@router.get(PAGE, include_in_schema=False)
async def google_calendar_page(
    page: TutorPage, session: Session, notice_key: Notice = None
) -> Response:
    assert page.user is not None
    account = await scheduling.google_connection(session, page.user.id)
    return render(
        page,
        "teach_google_calendar.html",
        configured=bool(scheduling_settings().google_oauth_client_id),
        account=account,
        busy_synced_at=(
            None
            if account is None
            else await scheduling.google_busy_synced_at(session, page.user.id)
        ),
        notice=notice(page.viewer, notice_key),
    )


@router.get(f"{PAGE}/connect", include_in_schema=False)
async def google_calendar_connect(request: Request, page: TutorPage) -> Response:
    """To Google's consent page; Google sends the browser back to the API's callback.

    A link, not a form: the pages' CSP lets forms post to this site only (``form-action
    'self'``, which also covers where a form's answer redirects). Nothing is stored here; the
    PKCE verifier travels sealed in ``state``, so following the link twice is harmless."""
    assert page.user is not None
    url = scheduling.google_authorization_url(_settings(request), page.user.id, scheduling.utcnow())
    return RedirectResponse(url, status_code=303)


@router.post(f"{PAGE}/calendar", include_in_schema=False)
async def google_calendar_choose(request: Request, page: DetachedTutorPage) -> Response:
    assert page.user is not None
    form = await request.form()
    try:
        choice = GoogleCalendarChoice.model_validate({"calendar_id": form.get("calendar_id")})
    except ValidationError as exc:
        raise Unprocessable("Enter a calendar ID.", code="calendar_id_required") from exc
    database, settings, now = get_database(request), _settings(request), scheduling.utcnow()
    await scheduling.fresh_google_access(database, settings, page.user.id, now)
    async with database.transaction() as session:
        access = await scheduling.google_calendar_access(session, page.user.id)
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
    async with database.transaction() as session:
        await scheduling.choose_google_calendar(session, page.user.id, choice.calendar_id)
    await scheduling.refresh_google_busy(database, settings, page.user.id, now)
    return _see("calendar_chosen")


@router.post(f"{PAGE}/disconnect", include_in_schema=False)
async def google_calendar_disconnect(request: Request, page: DetachedTutorPage) -> Response:
    """The grant is revoked at Google, the tokens erased, the cached busy times forgotten."""
    assert page.user is not None
    database = get_database(request)
    if not await scheduling.disconnect_google(database, _settings(request), page.user.id):
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    async with database.transaction(page.user.id) as session:
        await scheduling.forget_google_busy(session, page.user.id)
    return _see("google_disconnected")
