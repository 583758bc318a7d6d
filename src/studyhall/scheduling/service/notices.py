"""Booking notifications: confirmation (with the ``.ics``), reminders, reschedule, cancellation,
and the updated confirmation when Google Meet replaces the booking's generated room. Reminders
read the booking's meeting link again when they go out (``reminder_values``).

Every call runs in the transaction that changes the booking: roll back and neither the
notification rows nor their delivery jobs exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.kit.mail import Attachment
from studyhall.kit.times import rfc3339
from studyhall.notifications import service as notifications
from studyhall.scheduling.models import Booking, Offering
from studyhall.scheduling.service import ics


async def _parties(session: AsyncSession, booking: Booking) -> tuple[User, User]:
    """The booking's student and tutor, in one read."""
    wanted = (booking.student_id, booking.tutor_id)
    found = {
        user.id: user for user in await session.scalars(select(User).where(User.id.in_(wanted)))
    }
    return found[booking.student_id], found[booking.tutor_id]


async def _payload(session: AsyncSession, booking: Booking) -> dict[str, Any]:
    offering = await session.get(Offering, booking.offering_id)
    return {
        "title": offering.title if offering is not None else "your session",
        "starts_at": rfc3339(booking.start_at),
        "ends_at": rfc3339(booking.end_at),
        "meeting_link": booking.join_link,
        "url": f"/bookings/{booking.id}",
        "booking_id": str(booking.id),
    }


async def reminder_values(session: AsyncSession, booking_id: uuid.UUID) -> dict[str, Any] | None:
    """What a reminder reads from its booking when it goes out: the current meeting link (Google
    Meet may have replaced the room the booking was confirmed with)."""
    booking = await session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        return None
    return {"meeting_link": booking.join_link}


async def booking_confirmed(session: AsyncSession, booking: Booking) -> None:
    """Tell both parties (email carries the booking's ``.ics``) and schedule the reminders."""
    parties = await _parties(session, booking)
    await _send_request(
        session, booking, dedupe_key=f"booking_confirmation:{booking.id}", parties=parties
    )
    student, tutor = parties
    await notifications.schedule_booking_reminders(
        session,
        booking.id,
        [student.id, tutor.id],
        booking.start_at,
        await _payload(session, booking),
    )


async def booking_rescheduled(session: AsyncSession, booking: Booking) -> None:
    """Move the reminders and send both parties the updated invitation: same UID, higher
    SEQUENCE, so their calendars move the event instead of adding a second one."""
    await notifications.move_booking_reminders(session, booking.id, booking.start_at)
    await _send_request(
        session,
        booking,
        dedupe_key=f"booking_confirmation:{booking.id}:{booking.sequence}",
        rescheduled=True,
    )


async def meet_link_added(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """Google Meet replaced the room the booking was confirmed with: both parties get the
    confirmation again with the Meet link, and its ``.ics`` (same UID, higher SEQUENCE) moves
    their calendar event to the new location instead of adding a second one."""
    booking = await session.get(Booking, booking_id, populate_existing=True)
    if booking is None or booking.status != "confirmed":
        return
    await _send_request(
        session, booking, dedupe_key=f"booking_confirmation:{booking.id}:{booking.sequence}"
    )


async def _send_request(
    session: AsyncSession,
    booking: Booking,
    *,
    dedupe_key: str,
    rescheduled: bool = False,
    parties: tuple[User, User] | None = None,
) -> None:
    student, tutor = parties or await _parties(session, booking)
    base = {**await _payload(session, booking), "rescheduled": rescheduled}
    await _tell_both(
        session, booking, student, tutor, "booking_confirmation", base, "REQUEST", dedupe_key
    )


async def _tell_both(
    session: AsyncSession,
    booking: Booking,
    student: User,
    tutor: User,
    type_: str,
    base: dict[str, Any],
    method: ics.InviteMethod,
    dedupe_key: str,
) -> None:
    """Each party gets ``type_`` naming the other, with the ``.ics`` in their own zone; both
    in one batch (one read of their choices, one insert)."""
    invites = await ics.booking_invites(session, booking.id, [student, tutor], method)
    await notifications.notify_each(
        session,
        type_,
        [
            notifications.Notice(
                person.id,
                {**base, "with_name": other.name},
                [Attachment.of("booking.ics", "text/calendar", invite)],
            )
            for (person, other), invite in zip(
                ((student, tutor), (tutor, student)), invites, strict=True
            )
        ],
        entity="booking",
        entity_id=booking.id,
        dedupe_key=dedupe_key,
    )


async def booking_canceled(session: AsyncSession, booking: Booking, *, tell: bool) -> None:
    """Drop the reminders; ``tell`` (the booking had been confirmed) also notifies both parties."""
    await notifications.drop_booking_reminders(session, booking.id)
    if not tell:
        return
    student, tutor = await _parties(session, booking)
    base = {**await _payload(session, booking), "reason": booking.cancellation_reason}
    await _tell_both(
        session,
        booking,
        student,
        tutor,
        "booking_cancellation",
        base,
        "CANCEL",
        f"booking_cancellation:{booking.id}",
    )
