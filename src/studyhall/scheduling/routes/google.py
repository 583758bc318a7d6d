"""HTTP for connecting Google Calendar: start, callback, status, the calendar, disconnect,
busy times on demand. Google is only ever called with no transaction open (``AppDatabase``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlalchemy import select, update

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached
from studyhall.accounts.models import OAuthAccount
from studyhall.accounts.service import KeyRing
from studyhall.config import Settings
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.errors import BadRequest, NotFound, ServiceUnavailable
from studyhall.scheduling import google_busy, google_calendar, google_oauth
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.models import CalendarBusySync
from studyhall.scheduling.schemas import (
    BusyRefreshed,
    GoogleCalendarChoice,
    GoogleConnection,
    GoogleConnectStarted,
)

router = APIRouter(tags=["calendar"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/calendar/google/connect",
    summary="Start connecting Google Calendar: the consent URL to send the browser to",
)
async def connect_google(request: Request, user: CurrentUser) -> GoogleConnectStarted:
    url = google_oauth.authorization_url(_settings(request), user.id, google_oauth.utcnow())
    return GoogleConnectStarted(authorization_url=url)


@router.get(
    "/calendar/google/callback",
    summary="Where Google sends the browser back (public; the state names the user)",
    response_model=GoogleConnection,
)
async def google_callback(
    request: Request,
    database: AppDatabase,
    state: Annotated[str, Query(min_length=1, max_length=2000)],
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response | GoogleConnection:
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


@router.get("/calendar/google", summary="Your Google Calendar connection")
async def google_status(user: CurrentUser, session: Session) -> GoogleConnection:
    account = await google_oauth.connection(session, user.id)
    if account is None:
        return GoogleConnection(connected=False)
    synced = await session.scalar(
        select(CalendarBusySync.synced_at).where(CalendarBusySync.user_id == user.id)
    )
    return GoogleConnection(
        connected=True,
        calendar_id=account.calendar_id,
        scopes=account.scopes,
        token_expires_at=account.token_expires_at,
        busy_synced_at=synced,
    )


@router.put(
    "/calendar/google/calendar",
    summary="Choose the calendar bookings go to and busy times come from (checked at Google)",
)
async def choose_calendar(
    request: Request, data: GoogleCalendarChoice, user: CurrentUserDetached, database: AppDatabase
) -> GoogleConnection:
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
        await session.execute(
            update(OAuthAccount)
            .where(
                OAuthAccount.user_id == user.id,
                OAuthAccount.provider == google_oauth.PROVIDER,
                OAuthAccount.deleted_at.is_(None),
            )
            .values(calendar_id=data.calendar_id)
        )
    await google_busy.refresh_busy(database, settings, user.id, now)
    async with database.transaction() as session:
        return await google_status(user, session)


@router.delete(
    "/calendar/google",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disconnect Google Calendar: the grant is revoked at Google, the tokens erased",
)
async def disconnect_google(
    request: Request, user: CurrentUserDetached, database: AppDatabase
) -> Response:
    if not await google_oauth.revoke_and_disconnect(database, _settings(request), user.id):
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    async with database.transaction() as session:
        await google_busy.forget(session, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/calendar/google/busy/refresh",
    summary="Fetch your busy times from Google now (they block your slots)",
)
async def refresh_busy(
    request: Request, user: CurrentUserDetached, database: AppDatabase
) -> BusyRefreshed:
    found = await google_busy.refresh_busy(
        database, _settings(request), user.id, google_oauth.utcnow()
    )
    if found is None:
        raise NotFound("Google Calendar is not connected.", code="google_not_connected")
    return BusyRefreshed(busy_intervals=found)
