"""A connected tutor's Google busy times block their slots (free/busy, cached).

``refresh_busy`` asks Google's free/busy endpoint about the tutor's chosen calendar from now to
``BUSY_HORIZON`` ahead, with no transaction open, and replaces the tutor's cached intervals in
one transaction: at most ``MAX_INTERVALS`` (the earliest), clipped to the horizon, so the cache
stays bounded whatever the calendar holds. Intervals that are exactly one of the tutor's own
active bookings are left out: those are the events Studyhall wrote there itself, and a group
slot must not block its own remaining seats.

It runs from the ``refresh_busy_times`` job every 15 minutes for connected tutors and on demand
(``POST /calendar/google/busy/refresh``, and when a listing finds the cache older than
``STALE_AFTER``, which enqueues the job). The slot listing hides slots that overlap a cached
interval and a booking of one is 409 ``tutor_busy``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.kit.errors import Conflict, ServiceUnavailable
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.google import calendar_sync as google_calendar
from studyhall.scheduling.google import oauth as google_oauth
from studyhall.scheduling.models import ACTIVE_STATUSES, Booking, CalendarBusySync, CalendarBusyTime

BUSY_HORIZON = timedelta(days=93)
MAX_INTERVALS = 500
STALE_AFTER = timedelta(minutes=15)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def busy_intervals(
    answer: dict[str, object], calendar_id: str, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The calendar's busy intervals from a free/busy answer, clipped and bounded."""
    calendars = answer.get("calendars")
    entry = calendars.get(calendar_id) if isinstance(calendars, dict) else None
    if not isinstance(entry, dict) or entry.get("errors"):
        raise ServiceUnavailable(
            f"Google could not read the calendar {calendar_id!r}.", code="google_calendar_error"
        )
    horizon = now + BUSY_HORIZON
    found = []
    for item in entry.get("busy") or []:
        if not isinstance(item, dict):
            continue
        start, end = _parse(item.get("start")), _parse(item.get("end"))
        if start is None or end is None or end <= max(start, now) or start >= horizon:
            continue
        found.append((max(start, now), min(end, horizon)))
    return sorted(found)[:MAX_INTERVALS]


async def query_free_busy(
    access: google_calendar.CalendarAccess, now: datetime
) -> dict[str, object]:
    config = scheduling_settings()
    body = {
        "timeMin": now.isoformat(),
        "timeMax": (now + BUSY_HORIZON).isoformat(),
        "items": [{"id": access.calendar_id}],
    }
    try:
        async with httpx.AsyncClient(
            base_url=config.google_calendar_base_url, timeout=config.google_calendar_timeout_s
        ) as http:
            response = await http.post(
                "/freeBusy",
                json=body,
                headers={"Authorization": f"Bearer {access.access_token}"},
            )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("Google could not be reached.", code="google_unavailable") from exc
    if response.status_code != 200:
        raise ServiceUnavailable(
            f"Google answered {response.status_code} to free/busy.", code="google_unavailable"
        )
    answer = response.json()
    return answer if isinstance(answer, dict) else {}


async def refresh_busy(
    database: Database, settings: Settings, user_id: uuid.UUID, now: datetime
) -> int | None:
    """Fetch and store the user's busy times; None when they have no usable connection."""
    await google_oauth.fresh_access(database, settings, user_id, now)
    async with database.transaction() as session:
        await cross_users(session)
        access = await google_calendar.access_for(session, user_id)
    if access is None:
        return None
    answer = await query_free_busy(access, now)
    intervals = busy_intervals(answer, access.calendar_id, now)
    async with database.transaction() as session:
        await cross_users(session)
        return await _replace(session, user_id, intervals, now)


async def record(
    session: AsyncSession,
    user_id: uuid.UUID,
    intervals: list[tuple[datetime, datetime]],
    now: datetime,
) -> int:
    """Store parsed free/busy intervals as the user's cache, as a refresh does (the demo records
    its own answer this way); the number kept."""
    return await _replace(session, user_id, intervals, now)


async def _replace(
    session: AsyncSession,
    user_id: uuid.UUID,
    intervals: list[tuple[datetime, datetime]],
    now: datetime,
) -> int:
    result = await session.execute(
        select(Booking.start_at, Booking.end_at).where(
            Booking.tutor_id == user_id,
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.end_at > now,
        )
    )
    own = {(start, end) for start, end in result}
    kept = [(start, end) for start, end in intervals if (start, end) not in own]
    await session.execute(delete(CalendarBusyTime).where(CalendarBusyTime.user_id == user_id))
    if kept:
        await session.execute(
            insert(CalendarBusyTime),
            [{"user_id": user_id, "busy": Range(start, end)} for start, end in kept],
        )
    await session.execute(
        insert(CalendarBusySync)
        .values(user_id=user_id, synced_at=now)
        .on_conflict_do_update(index_elements=["user_id"], set_={"synced_at": now})
    )
    return len(kept)


async def synced_at(session: AsyncSession, user_id: uuid.UUID) -> datetime | None:
    """When the user's busy times were last fetched from Google (None: never)."""
    return await session.scalar(
        select(CalendarBusySync.synced_at).where(CalendarBusySync.user_id == user_id)
    )


_OVERLAP = text(
    "SELECT EXISTS (SELECT 1 FROM calendar_busy_times WHERE user_id = :tutor "
    "AND busy && tstzrange(:start, :end))"
)


async def require_free(
    session: AsyncSession, tutor_id: uuid.UUID, start: datetime, end: datetime
) -> None:
    """A booking of a slot the tutor's own calendar marks busy is refused."""
    if await session.scalar(_OVERLAP, {"tutor": tutor_id, "start": start, "end": end}):
        raise Conflict(
            "The tutor has something else in their calendar at this time.", code="tutor_busy"
        )


async def forget(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A disconnected calendar blocks nothing any more."""
    await session.execute(delete(CalendarBusyTime).where(CalendarBusyTime.user_id == user_id))
    await session.execute(delete(CalendarBusySync).where(CalendarBusySync.user_id == user_id))
