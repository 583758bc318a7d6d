"""What billing calls: a paid booking's hold is confirmed by payment or released."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.scheduling.models import HOLD_STATUSES, Booking, Offering
from studyhall.scheduling.service.bookings import _schedule_sync, approval_deadline
from studyhall.scheduling.service.common import lock_tutor, trusted, utcnow
from studyhall.scheduling.service.seats import free_seat, refresh_slot


async def _lock(session: AsyncSession, booking_id: uuid.UUID) -> Booking:
    await trusted(session)  # billing acts for the system (webhooks have no signed-in user)
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.", code="booking_not_found")
    await lock_tutor(session, booking.tutor_id)
    locked = await session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    assert locked is not None
    return locked


async def confirm_booking_payment(
    session: AsyncSession,
    booking_id: uuid.UUID,
    payment_ref: str,
    amount_cents: int,
    now: datetime | None = None,
) -> Booking:
    """Payment captured: the hold becomes confirmed (or waits for the tutor's approval).

    Safe to call twice with the same ``payment_ref``. A hold that has expired is not revived:
    the seat may already be someone else's, so billing gets ``hold_expired`` and refunds.
    """
    now = now or utcnow()
    booking = await _lock(session, booking_id)
    if booking.payment_ref == payment_ref and booking.payment_status == "captured":
        return booking
    if booking.status != "pending_payment":
        raise Conflict(
            f"This booking is {booking.status}, not waiting for payment.", code="hold_not_active"
        )
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        raise Conflict("The hold expired before the payment arrived.", code="hold_expired")
    if amount_cents != booking.price_cents:
        raise Unprocessable(
            f"Expected {booking.price_cents} {booking.currency} cents, got {amount_cents}.",
            code="amount_mismatch",
        )
    offering = await session.get(Offering, booking.offering_id)
    assert offering is not None
    booking.payment_ref = payment_ref
    booking.payment_status = "captured"
    booking.amount_authorized_cents = amount_cents
    booking.amount_captured_cents = amount_cents
    if offering.requires_approval:
        booking.status = "pending_approval"
        booking.hold_expires_at = approval_deadline(booking.start_at, now)
    else:
        booking.status = "confirmed"
        booking.hold_expires_at = None
    booking.sequence += 1
    await session.flush()
    await refresh_slot(session, booking.slot_id)
    await audit.record(
        session,
        None,
        "booking.payment_confirmed",
        "booking",
        booking.id,
        {"payment_ref": payment_ref, "amount_cents": amount_cents, "status": booking.status},
    )
    await _schedule_sync(session, booking.id)
    return booking


async def release_hold(
    session: AsyncSession, booking_id: uuid.UUID, reason: str, now: datetime | None = None
) -> Booking:
    """Give a hold's seat back (payment failed or abandoned). A no-op unless it is a hold."""
    now = now or utcnow()
    booking = await _lock(session, booking_id)
    if booking.status not in HOLD_STATUSES:
        return booking
    booking.status = "canceled"
    booking.canceled_by = "system"
    booking.canceled_at = now
    booking.cancellation_reason = reason
    booking.hold_expires_at = None
    booking.refund_due_cents = booking.amount_captured_cents - booking.amount_refunded_cents
    if booking.payment_status in ("pending", "processing"):
        booking.payment_status = "canceled"
    booking.sequence += 1
    await session.flush()
    await free_seat(session, booking.slot_id)
    await audit.record(
        session, None, "booking.release_hold", "booking", booking.id, {"reason": reason}
    )
    await _schedule_sync(session, booking.id)
    return booking
