"""Scheduling jobs: slot materialization, hold expiry, completion, Google Calendar sync.

Every handler takes ids, re-reads rows and is safe to run twice. Each crosses users (it sweeps
every tutor, or settles a booking for both its parties) and says so once, at its start.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from studyhall.accounts.models import OAuthAccount, User
from studyhall.audit import service as audit
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, enqueue, queue, runtime
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.google import accounts as google_accounts
from studyhall.scheduling.google import busy as google_busy
from studyhall.scheduling.google import calendar_sync as google_calendar
from studyhall.scheduling.google import oauth as google_oauth
from studyhall.scheduling.models import AvailabilityRuleRow
from studyhall.scheduling.service import notices
from studyhall.scheduling.service.background import (
    MATERIALIZE_TUTOR,
    REFRESH_BUSY_TIMES,
    RELEASE_EXPIRED_HOLDS,
    SYNC_CALENDAR_EVENTS,
    busy_lock,
    calendar_lock,
    slots_lock,
)
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.earnings import record_earning
from studyhall.scheduling.service.materialize import materialize_tutor, materialize_tutors
from studyhall.scheduling.service.seats import expire_holds

# Every process that runs jobs finds Google tokens in accounts' oauth_accounts.
google_accounts.install()

_COMPLETE = text(
    """
    UPDATE bookings SET status = 'completed'
    WHERE status = 'confirmed' AND end_at <= :now
    RETURNING id
    """
)


@queue.task(name=MATERIALIZE_TUTOR, retry=backoff())
async def materialize_tutor_slots(tutor_id: str) -> None:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        await materialize_tutor(session, uuid.UUID(tutor_id), utcnow())


@queue.task(name="studyhall.scheduling.materialize_tutor_batch", retry=backoff())
async def materialize_tutor_batch(tutor_ids: list[str]) -> None:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        await materialize_tutors(session, [uuid.UUID(t) for t in tutor_ids], utcnow())


@queue.periodic(cron="23 2 * * *")
@queue.task(name="studyhall.scheduling.roll_horizon", queue="maintenance")
async def roll_horizon(timestamp: int) -> None:
    """Once a day every tutor with rules gets one more day of slots, in batches of tutors.

    This job only lists the tutors and defers one job per batch: each batch commits on its
    own, so the roll resumes where it failed and never holds slot rows for long."""
    size = scheduling_settings().roll_batch_tutors
    async with runtime().database.transaction() as session:
        tutors = (
            await session.scalars(
                select(AvailabilityRuleRow.tutor_id)
                .where(AvailabilityRuleRow.is_active, AvailabilityRuleRow.deleted_at.is_(None))
                .distinct()
                .order_by(AvailabilityRuleRow.tutor_id)
            )
        ).all()
        for start in range(0, len(tutors), size):
            batch = [str(t) for t in tutors[start : start + size]]
            await enqueue(session, materialize_tutor_batch, tutor_ids=batch)


@queue.task(name=RELEASE_EXPIRED_HOLDS, retry=backoff())
async def release_expired_holds(tutor_id: str | None = None) -> None:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        released = await expire_holds(
            session, utcnow(), tutor_id=None if tutor_id is None else uuid.UUID(tutor_id)
        )
        for booking_id, owner in {(b, t) for b, t in released}:
            await enqueue(
                session,
                sync_calendar_events,
                lock=calendar_lock(booking_id),
                booking_id=str(booking_id),
            )
            await enqueue(
                session, materialize_tutor_slots, lock=slots_lock(owner), tutor_id=str(owner)
            )


@queue.periodic(cron="* * * * *")
@queue.task(name="studyhall.scheduling.sweep_expired_holds", queue="maintenance")
async def sweep_expired_holds(timestamp: int) -> None:
    """The safety net behind the per-hold scheduled job (a worker may have been down)."""
    await release_expired_holds()


@queue.periodic(cron="*/5 * * * *")
@queue.task(name="studyhall.scheduling.complete_finished_bookings", queue="maintenance")
async def complete_finished_bookings(timestamp: int) -> None:
    await complete_finished()


async def complete_finished() -> list[uuid.UUID]:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        done = list((await session.scalars(_COMPLETE, {"now": utcnow()})).all())
        for booking_id in done:
            await audit.record(
                session, None, "booking.complete", "booking", booking_id, {"status": "completed"}
            )
            # Same transaction as the status change, which happens once: earnings count once.
            await record_earning(session, booking_id)
    return done


@queue.task(name=SYNC_CALENDAR_EVENTS, retry=backoff())
async def sync_calendar_events(booking_id: str) -> None:
    database, settings = runtime().database, runtime().settings
    async with database.transaction() as session:
        await cross_users(session)
        parties = (
            await session.execute(
                text("SELECT student_id, tutor_id FROM bookings WHERE id = :id"),
                {"id": uuid.UUID(booking_id)},
            )
        ).first()
    for user_id in parties or ():
        await google_oauth.fresh_access(database, settings, user_id, utcnow())
    await google_calendar.sync_booking(
        database, uuid.UUID(booking_id), on_meet_link=notices.meet_link_added
    )


@queue.task(name=REFRESH_BUSY_TIMES, retry=backoff())
async def refresh_busy_times(user_id: str) -> None:
    await google_busy.refresh_busy(
        runtime().database, runtime().settings, uuid.UUID(user_id), utcnow()
    )


@queue.periodic(cron="*/15 * * * *")
@queue.task(name="studyhall.scheduling.refresh_all_busy_times", queue="maintenance")
async def refresh_all_busy_times(timestamp: int) -> None:
    """Every connected tutor's busy times, one job each (one at a time per tutor)."""
    async with runtime().database.transaction() as session:
        await cross_users(session)
        tutors = (
            await session.scalars(
                select(OAuthAccount.user_id)
                .join(User, User.id == OAuthAccount.user_id)
                .where(
                    OAuthAccount.provider == google_oauth.PROVIDER,
                    OAuthAccount.deleted_at.is_(None),
                    User.role == "tutor",
                    User.status == "active",
                )
                .distinct()
            )
        ).all()
        for tutor_id in tutors:
            await enqueue(
                session, refresh_busy_times, lock=busy_lock(tutor_id), user_id=str(tutor_id)
            )
