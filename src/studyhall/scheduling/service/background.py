"""The background jobs the scheduling services queue, by task name.

The tasks themselves live in ``scheduling.jobs``, which calls these services; the services queue
them by name (the worker and the app import ``jobs`` at start, so the name is always registered)
so the dependency runs one way. Every job is queued in the caller's transaction: roll it back
and the job was never queued.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, Uuid, and_, bindparam, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.jobs import enqueue, queue
from studyhall.scheduling.google import busy as google_busy
from studyhall.scheduling.google import oauth as google_oauth
from studyhall.scheduling.models import CalendarBusySync
from studyhall.scheduling.service.clock import utcnow

MATERIALIZE_TUTOR = "studyhall.scheduling.materialize_tutor_slots"
RELEASE_EXPIRED_HOLDS = "studyhall.scheduling.release_expired_holds"
SYNC_CALENDAR_EVENTS = "studyhall.scheduling.sync_calendar_events"
REFRESH_BUSY_TIMES = "studyhall.scheduling.refresh_busy_times"

_QUEUED = text(
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE lock = :lock AND status = 'todo')"
)


def slots_lock(tutor_id: uuid.UUID) -> str:
    """Two materializations of one tutor must not interleave their diffs."""
    return f"slots:{tutor_id}"


def calendar_lock(booking_id: uuid.UUID) -> str:
    return f"gcal:{booking_id}"


def busy_lock(user_id: uuid.UUID) -> str:
    return f"busy:{user_id}"


async def schedule_materialization(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    """Re-materialize the tutor's slots after a change to their rules, offerings or bookings."""
    await enqueue(
        session,
        queue.tasks[MATERIALIZE_TUTOR],
        lock=slots_lock(tutor_id),
        tutor_id=str(tutor_id),
    )


async def schedule_calendar_sync(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """Write the booking's current state to the parties' connected Google calendars."""
    await enqueue(
        session,
        queue.tasks[SYNC_CALENDAR_EVENTS],
        lock=calendar_lock(booking_id),
        booking_id=str(booking_id),
    )


async def schedule_expiry(session: AsyncSession, tutor_id: uuid.UUID, expires_at: datetime) -> None:
    """Release the tutor's holds that have lapsed by ``expires_at``, at that moment."""
    await enqueue(
        session,
        queue.tasks[RELEASE_EXPIRED_HOLDS],
        scheduled_at=expires_at,
        tutor_id=str(tutor_id),
    )


async def schedule_busy_refresh(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Refresh the user's Google busy times, queued once however many callers ask meanwhile."""
    if await session.scalar(_QUEUED, {"lock": busy_lock(user_id)}):
        return
    await enqueue(
        session, queue.tasks[REFRESH_BUSY_TIMES], lock=busy_lock(user_id), user_id=str(user_id)
    )


# A connected tutor (a live Google account) whose busy-time cache is missing or older than
# ``STALE_AFTER``: what ``busy.is_stale`` and ``oauth.connection`` decide, in one round trip,
# since every slot listing asks and almost no tutor is connected.
# Whether the tutor is connected comes from a function that answers only that (a student's
# listing may not read the tutor's connection row).
_CONNECTED: ColumnElement[bool] = func.studyhall_oauth_connected(
    bindparam("user_id", type_=Uuid), google_oauth.PROVIDER, type_=Boolean
)
_FRESH: ColumnElement[bool] = exists().where(
    CalendarBusySync.user_id == bindparam("user_id"),
    CalendarBusySync.synced_at >= bindparam("fresh_since"),
)
_NEEDS_REFRESH = select(and_(_CONNECTED, ~_FRESH))


async def refresh_busy_if_stale(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    """On demand (a slot listing of a connected tutor): a stale cache is refreshed by a job,
    queued once however many listings ask meanwhile."""
    fresh_since = utcnow() - google_busy.STALE_AFTER
    if await session.scalar(_NEEDS_REFRESH, {"user_id": tutor_id, "fresh_since": fresh_since}):
        await schedule_busy_refresh(session, tutor_id)
