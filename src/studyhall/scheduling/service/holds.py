"""A paid booking's hold, settled by billing: confirmed by its payment, or released.

These are the ``booking`` purpose's handlers (registered in ``scheduling.reactions``): a payment
that succeeds confirms the hold, one that fails releases it, one that succeeds after its hold is
gone is refunded in full, and every refund (policy, admin, provider) is mirrored on the booking.
Billing calls them from a provider callback or a settlement job, which acts for the system, so
each handler's unit of work crosses users.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.billing import service as billing
from studyhall.billing.models import Payment
from studyhall.db.rls import cross_users
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.scheduling.models import HOLD_STATUSES, Booking, Offering
from studyhall.scheduling.service import notices
from studyhall.scheduling.service.background import schedule_calendar_sync
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.payments import PURPOSE, mirror_refund
from studyhall.scheduling.service.policy import approval_deadline
from studyhall.scheduling.service.seats import free_seat, refresh_slot
from studyhall.scheduling.service.tutor_settings import lock_tutor


async def _lock(session: AsyncSession, booking_id: uuid.UUID) -> Booking:
    # Billing settles for the system (a provider callback has no signed-in user): confirming or
    # releasing a hold is a unit of work across users, declared before anything is read.
    await cross_users(session)
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
    await schedule_calendar_sync(session, booking.id)
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
    await schedule_calendar_sync(session, booking.id)
    return booking


async def _booking(session: AsyncSession, booking_id: uuid.UUID) -> Booking | None:
    # Billing acts for the system (a provider callback has no signed-in user). No row lock here:
    # the functions called next lock the tutor's schedule row first, then the booking.
    await cross_users(session)
    return await session.get(Booking, booking_id, populate_existing=True)


async def on_succeeded(session: AsyncSession, payment: Payment) -> None:
    booking = await _booking(session, payment.purpose_id)
    if booking is None:  # the hold and its payment commit together, so never in practice
        return
    try:
        confirmed = await confirm_booking_payment(
            session, booking.id, str(payment.id), payment.amount_cents
        )
    except (Conflict, Unprocessable) as exc:
        await _refund_late(session, booking, payment, exc.code or "hold_not_active")
        return
    if confirmed.status == "confirmed":
        await notices.booking_confirmed(session, confirmed)


async def _refund_late(session: AsyncSession, booking: Booking, payment: Payment, why: str) -> None:
    """The money arrived for a seat the booking no longer holds: record it and give it back."""
    if booking.status in HOLD_STATUSES:
        await release_hold(session, booking.id, why)  # expired but not yet swept
        booking = await session.get(Booking, booking.id, populate_existing=True) or booking
    if booking.payment_ref is None:  # a confirmed booking keeps the payment that confirmed it
        booking.payment_ref = str(payment.id)
    booking.payment_status = "captured"
    booking.amount_authorized_cents += payment.amount_cents
    booking.amount_captured_cents += payment.amount_cents
    booking.refund_due_cents += payment.amount_cents
    await session.flush()
    await audit.record(
        session,
        None,
        "booking.late_payment",
        "booking",
        booking.id,
        {"payment_id": str(payment.id), "reason": why, "refund_due_cents": payment.amount_cents},
    )
    await billing.request_refund(
        session, payment.id, amount_cents=None, currency=None, reason="hold_expired", actor=None
    )


async def on_failed(session: AsyncSession, payment: Payment) -> None:
    booking = await _booking(session, payment.purpose_id)
    if booking is None or booking.payment_ref not in (None, str(payment.id)):
        return
    await release_hold(session, booking.id, "payment_failed")


async def on_refunded(session: AsyncSession, payment: Payment, amount_cents: int) -> None:
    booking = await _booking(session, payment.purpose_id)
    if booking is None:
        return
    await mirror_refund(session, booking, amount_cents, payment_id=str(payment.id))


BOOKING_PURPOSE = billing.Purpose(PURPOSE, "one_off", on_succeeded, on_failed, on_refunded)
