"""Scheduling jobs: slot materialization, hold expiry, completion, Google Calendar sync.

Every handler takes ids, re-reads rows and is safe to run twice (rule 3).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as account_closures
from studyhall.accounts.models import OAuthAccount, User
from studyhall.audit import service as audit
from studyhall.jobs import backoff, enqueue, queue, runtime
from studyhall.scheduling import (
    closures,
    google_accounts,
    google_busy,
    google_calendar,
    google_oauth,
)
from studyhall.scheduling import payment as booking_payment  # registers the "booking" purpose
from studyhall.scheduling.models import AvailabilityRuleRow
from studyhall.scheduling.service.common import trusted, utcnow
from studyhall.scheduling.service.materialize import materialize_tutor, materialize_tutors
from studyhall.scheduling.service.seats import expire_holds

# Every process that runs jobs finds Google tokens in accounts' oauth_accounts.
google_accounts.install()
# A suspended or deleted account's bookings are canceled by accounts' closure job.
account_closures.on_account_closed("scheduling.bookings", closures.on_account_closed)
# A deleted account's Google grant is revoked at Google before erasure removes its tokens.
account_closures.on_account_closed("scheduling.google", closures.revoke_google_on_deletion)

_COMPLETE = text(
    """
    UPDATE bookings SET status = 'completed'
    WHERE status = 'confirmed' AND end_at <= :now
    RETURNING id
    """
)


@queue.task(name="studyhall.scheduling.materialize_tutor_slots", retry=backoff())
async def materialize_tutor_slots(tutor_id: str) -> None:
    async with runtime().database.transaction() as session:
        await trusted(session)
        await materialize_tutor(session, uuid.UUID(tutor_id), utcnow())


@queue.task(name="studyhall.scheduling.materialize_tutor_batch", retry=backoff())
async def materialize_tutor_batch(tutor_ids: list[str]) -> None:
    async with runtime().database.transaction() as session:
        await trusted(session)
        await materialize_tutors(session, [uuid.UUID(t) for t in tutor_ids], utcnow())


ROLL_BATCH = 200


@queue.periodic(cron="23 2 * * *")
@queue.task(name="studyhall.scheduling.roll_horizon", queue="maintenance")
async def roll_horizon(timestamp: int) -> None:
    """Once a day every tutor with rules gets one more day of slots, in batches of tutors."""
    async with runtime().database.transaction() as session:
        tutors = (
            await session.scalars(
                select(AvailabilityRuleRow.tutor_id)
                .where(AvailabilityRuleRow.is_active, AvailabilityRuleRow.deleted_at.is_(None))
                .distinct()
                .order_by(AvailabilityRuleRow.tutor_id)
            )
        ).all()
        for start in range(0, len(tutors), ROLL_BATCH):
            batch = [str(t) for t in tutors[start : start + ROLL_BATCH]]
            await enqueue(session, materialize_tutor_batch, tutor_ids=batch)


@queue.task(name="studyhall.scheduling.release_expired_holds", retry=backoff())
async def release_expired_holds(tutor_id: str | None = None) -> None:
    async with runtime().database.transaction() as session:
        released = await expire_holds(
            session,
            utcnow(),
            tutor_id=None if tutor_id is None else uuid.UUID(tutor_id),
            keep_trusted=True,
        )
        for booking_id, owner in {(b, t) for b, t in released}:
            await enqueue(
                session, sync_calendar_events, lock=f"gcal:{booking_id}", booking_id=str(booking_id)
            )
            await enqueue(
                session, materialize_tutor_slots, lock=f"slots:{owner}", tutor_id=str(owner)
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
        await trusted(session)
        done = list((await session.scalars(_COMPLETE, {"now": utcnow()})).all())
        for booking_id in done:
            await audit.record(
                session, None, "booking.complete", "booking", booking_id, {"status": "completed"}
            )
            # Same transaction as the status change, which happens once: earnings count once.
            await booking_payment.record_earning(session, booking_id)
    return done


@queue.task(name="studyhall.scheduling.sync_calendar_events", retry=backoff())
async def sync_calendar_events(booking_id: str) -> None:
    database, settings = runtime().database, runtime().settings
    async with database.transaction() as session:
        await trusted(session)
        parties = (
            await session.execute(
                text("SELECT student_id, tutor_id FROM bookings WHERE id = :id"),
                {"id": uuid.UUID(booking_id)},
            )
        ).first()
    for user_id in parties or ():
        await google_oauth.fresh_access(database, settings, user_id, utcnow())
    await google_calendar.sync_booking(database, uuid.UUID(booking_id))


def busy_lock(user_id: uuid.UUID) -> str:
    return f"busy:{user_id}"


@queue.task(name="studyhall.scheduling.refresh_busy_times", retry=backoff())
async def refresh_busy_times(user_id: str) -> None:
    await google_busy.refresh_busy(
        runtime().database, runtime().settings, uuid.UUID(user_id), utcnow()
    )


@queue.periodic(cron="*/15 * * * *")
@queue.task(name="studyhall.scheduling.refresh_all_busy_times", queue="maintenance")
async def refresh_all_busy_times(timestamp: int) -> None:
    """Every connected tutor's busy times, one job each (one at a time per tutor)."""
    async with runtime().database.transaction() as session:
        await trusted(session)
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


_BUSY_QUEUED = text(
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE lock = :lock AND status = 'todo')"
)


async def refresh_busy_if_stale(session: AsyncSession, tutor_id: uuid.UUID) -> None:
    """On demand (a slot listing of a connected tutor): a stale cache is refreshed by a job,
    queued once however many listings ask meanwhile."""
    if not await google_busy.is_stale(session, tutor_id, utcnow()):
        return
    if await google_oauth.connection(session, tutor_id) is None:
        return
    if await session.scalar(_BUSY_QUEUED, {"lock": busy_lock(tutor_id)}):
        return
    await enqueue(session, refresh_busy_times, lock=busy_lock(tutor_id), user_id=str(tutor_id))
