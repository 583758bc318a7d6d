"""HTTP for connecting Google Calendar: start, callback, status, the calendar, disconnect,
busy times on demand. Google is only ever called with no transaction open (``AppDatabase``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached
from studyhall.accounts.service import KeyRing
from studyhall.config import Settings
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.errors import BadRequest, NotFound, ServiceUnavailable
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.google import busy as google_busy
from studyhall.scheduling.google import calendar_sync as google_calendar
from studyhall.scheduling.google import oauth as google_oauth
from studyhall.scheduling.schemas import (
    BusyRefreshed,
    GoogleCalendarChoice,
    GoogleConnection,
    GoogleConnectStarted,
)

router = APIRouter()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/calendar/google/connect",
    summary="Start connecting Google Calendar",
)
async def google_connection_start(request: Request, user: CurrentUser) -> GoogleConnectStarted:
    """The Google consent URL to send the browser to (authorization code with PKCE and a signed
    ``state``); scopes are limited to calendar events and free/busy."""
    url = google_oauth.authorization_url(_settings(request), user.id, google_oauth.utcnow())
    return GoogleConnectStarted(authorization_url=url)


@router.get(
    "/calendar/google/callback",
    summary="Finish connecting Google Calendar (public)",
    response_model=GoogleConnection,
)
async def google_connection_callback(
    request: Request,
    database: AppDatabase,
    state: Annotated[str, Query(min_length=1, max_length=2000)],
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response | GoogleConnection:
    """Where Google sends the browser back. No sign-in: the signed ``state`` names the user.
    The tokens are stored encrypted; redirects to the configured page when there is one."""
    settings = _settings(request)
    now = google_oauth.utcnow()
    consent = google_oauth.read_state(settings, state, now)
    if error is not None or code is None:
        raise BadRequest("Google access was not granted.", code="consent_denied")
    granted = await google_oauth.exchange(code, consent.verifier, now)
    async with database.transaction() as session:
        account = await google_oauth.store(
            session, KeyRing.from_settings(settings), consent.user_id, granted
        )
        answer = GoogleConnection(
            connected=True,
            calendar_id=account.calendar_id,
            scopes=account.scopes,
            token_expires_at=account.token_expires_at,
        )
    done = scheduling_settings().google_oauth_done_url
    if done:
        return RedirectResponse(done, status_code=status.HTTP_303_SEE_OTHER)
    return answer


@router.get("/calendar/google", summary="Get your Google Calendar connection")
async def google_connection_get(user: CurrentUser, session: Session) -> GoogleConnection:
    """Whether you are connected, to which calendar, and when busy times were last fetched."""
    account = await google_oauth.connection(session, user.id)
    if account is None:
        return GoogleConnection(connected=False)
    synced = await google_busy.synced_at(session, user.id)
    return GoogleConnection(
        connected=True,
        calendar_id=account.calendar_id,
        scopes=account.scopes,
        token_expires_at=account.token_expires_at,
        busy_synced_at=synced,
    )


@router.put(
    "/calendar/google/calendar",
    summary="Choose your Google calendar",
)
async def google_calendar_choose(
    request: Request, data: GoogleCalendarChoice, user: CurrentUserDetached, database: AppDatabase
) -> GoogleConnection:
    """The calendar bookings are written to and busy times come from; Google is asked first
    whether the connection can read it (422 ``calendar_not_readable`` when not)."""
    settings, now = _settings(request), google_oauth.utcnow()
    await google_oauth.fresh_access(database, settings, user.id, now)
    async with database.transaction() as session:
        access = await google_calendar.access_for(session, user.id)
    if access is None:
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    chosen = google_calendar.CalendarAccess(access.access_token, data.calendar_id)
    # Google answers a calendar the grant cannot read with an error for it: 422 here.
    answer = await google_busy.query_free_busy(chosen, now)
    try:
        google_busy.busy_intervals(answer, data.calendar_id, now)
    except ServiceUnavailable as exc:
        raise BadRequest(
            "Google cannot read that calendar with this connection.", code="calendar_not_readable"
        ) from exc
    async with database.transaction() as session:
        await google_oauth.choose_calendar(session, user.id, data.calendar_id)
    await google_busy.refresh_busy(database, settings, user.id, now)
    async with database.transaction(user.id) as session:
        return await google_connection_get(user, session)


@router.delete(
    "/calendar/google",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disconnect Google Calendar",
)
async def google_connection_delete(
    request: Request, user: CurrentUserDetached, database: AppDatabase
) -> Response:
    """The grant is revoked at Google, the tokens erased and the cached busy times forgotten."""
    if not await google_oauth.revoke_and_disconnect(database, _settings(request), user.id):
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    async with database.transaction(user.id) as session:
        await google_busy.forget(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/calendar/google/busy/refresh",
    summary="Refresh your Google busy times",
)
async def google_busy_times_refresh(
    request: Request, user: CurrentUserDetached, database: AppDatabase
) -> BusyRefreshed:
    """Fetch your busy times from Google now; they block your slots."""
    found = await google_busy.refresh_busy(
        database, _settings(request), user.id, google_oauth.utcnow()
    )
    if found is None:
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    return BusyRefreshed(busy_intervals=found)
