"""Slot seats and hold expiry: the conditional updates every booking path shares."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.scheduling.service.payments import abandon_payments

# One statement takes a seat or takes nothing: concurrent bookers cannot both see a free seat.
_TAKE_SEAT = text(
    """
    UPDATE slots SET seats_taken = seats_taken + 1,
        status = CASE WHEN seats_taken + 1 >= capacity THEN :full_status ELSE 'open' END
    WHERE id = :slot_id AND status = 'open' AND seats_taken < capacity
    RETURNING id
    """
)

_FREE_SEAT = text(
    """
    UPDATE slots SET seats_taken = seats_taken - 1,
        status = CASE WHEN status = 'closed' THEN 'closed' ELSE 'open' END
    WHERE id = :slot_id
    """
)

# A full slot is 'held' while any of its seats is an unpaid/unapproved hold, else 'booked'.
_REFRESH = text(
    """
    UPDATE slots s SET status = CASE
        WHEN s.status = 'closed' THEN 'closed'
        WHEN s.seats_taken < s.capacity THEN 'open'
        WHEN EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = s.id
                     AND b.status IN ('pending_payment', 'pending_approval')) THEN 'held'
        ELSE 'booked' END
    WHERE s.id = :slot_id
    """
)

# Expiry is a status change because exclusion constraints cannot look at now(). The paid part
# of an expired approval is owed back in full. A student's expired hold may sit with another
# tutor whose booking transaction is expiring it right now: SKIP LOCKED leaves it to that
# transaction instead of waiting on it (two such waits in opposite order would deadlock).
_EXPIRE = text(
    """
    UPDATE bookings SET status = 'canceled', canceled_by = 'system', canceled_at = :now,
        cancellation_reason = CASE status WHEN 'pending_payment' THEN 'hold_expired'
                                          ELSE 'approval_expired' END,
        payment_status = CASE WHEN payment_status IN ('pending', 'processing')
                              THEN 'canceled' ELSE payment_status END,
        refund_due_cents = amount_captured_cents - amount_refunded_cents,
        hold_expires_at = NULL,
        sequence = sequence + 1
    WHERE id IN (
        SELECT id FROM bookings
        WHERE status IN ('pending_payment', 'pending_approval') AND hold_expires_at <= :now
          AND (tutor_id = :tutor_id OR student_id = :student_id OR CAST(:everyone AS boolean))
        ORDER BY id
        FOR UPDATE SKIP LOCKED)
    RETURNING id, slot_id, tutor_id, cancellation_reason
    """
)


async def take_seat(session: AsyncSession, slot_id: uuid.UUID, *, confirmed: bool) -> bool:
    row = await session.execute(
        _TAKE_SEAT, {"slot_id": slot_id, "full_status": "booked" if confirmed else "held"}
    )
    return row.first() is not None


async def free_seat(session: AsyncSession, slot_id: uuid.UUID) -> None:
    await session.execute(_FREE_SEAT, {"slot_id": slot_id})
    await session.execute(_REFRESH, {"slot_id": slot_id})


async def refresh_slot(session: AsyncSession, slot_id: uuid.UUID) -> None:
    await session.execute(_REFRESH, {"slot_id": slot_id})


async def expire_holds(
    session: AsyncSession,
    now: datetime,
    *,
    tutor_id: uuid.UUID | None = None,
    student_id: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Cancel expired holds (of one tutor/student, or everyone's); returns (booking, tutor).

    The caller's unit of work crosses users (``db.rls.cross_users``): another student's expired
    hold must be cleared too, or it would keep blocking through the exclusion constraint.
    """
    rows = (
        await session.execute(
            _EXPIRE,
            {
                "now": now,
                "tutor_id": tutor_id,
                "student_id": student_id,
                "everyone": tutor_id is None and student_id is None,
            },
        )
    ).all()
    for booking_id, slot_id, _tutor, reason in rows:
        await free_seat(session, slot_id)
        await audit.record(
            session, None, "booking.expire", "booking", booking_id, {"reason": reason}
        )
    unpaid = [row[0] for row in rows if row[3] == "hold_expired"]
    await abandon_payments(session, unpaid, "hold_expired")
    return [(row[0], row[2]) for row in rows]
