"""A booking's money in billing: what it costs in credits, its payment rows, and refunds.

A booking is sold under billing's ``booking`` purpose (registered in ``scheduling.reactions``).
Refunds run through the payment that paid (a provider refund, or the credits given back), and
every refund is mirrored on the booking. No provider is called here: billing opens and refunds
payments outside any transaction that holds a booking's rows.
"""

from __future__ import annotations

import math
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.billing import service as billing
from studyhall.billing.models import CreditLedgerEntry, Payment
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.models import Booking
from studyhall.scheduling.service.earnings import take_back_earning, tutor_share

PURPOSE = "booking"


def credits_for(price_cents: int) -> int:
    """Credits a booking costs: one credit pays ``booking_credit_cents`` minor units, rounded up."""
    return math.ceil(price_cents / scheduling_settings().booking_credit_cents)


async def abandon_payments(
    session: AsyncSession, booking_ids: list[uuid.UUID], reason: str
) -> None:
    """Holds that ended unpaid (expired, canceled): billing cancels their pending provider
    payments from a job, outside any transaction, and fails them with ``reason``."""
    await billing.abandon_pending_payment(session, PURPOSE, booking_ids, reason)


async def lock_payments(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """Lock the booking's payment rows: call before the tutor's schedule row is locked.

    Billing applies a payment's events in the order payment row → (purpose handler) schedule row
    → booking; a cancellation or decline that refunds takes the same locks, so it takes them in
    the same order, or the two would deadlock (docs/billing.md, "Lock order").
    """
    await session.execute(
        select(Payment.id)
        .where(Payment.purpose == PURPOSE, Payment.purpose_id == booking_id)
        .order_by(Payment.id)
        .with_for_update()
    )


async def refund_owed(session: AsyncSession, booking: Booking, actor: uuid.UUID | None) -> None:
    """Pay back ``booking.refund_due_cents`` (set by a cancellation or decline) through billing.
    The refund goes to the student even when the tutor or an admin cancels, so the caller's unit
    of work crosses users."""
    due = booking.refund_due_cents
    if due <= 0:
        return
    if booking.payment_method == "credits":
        await _refund_credits(session, booking, due, actor)
        return
    payment_id = await session.scalar(
        select(Payment.id).where(
            Payment.purpose == PURPOSE,
            Payment.purpose_id == booking.id,
            Payment.status == "succeeded",
        )
    )
    if payment_id is None:
        await _unmatched(session, booking, actor)
        return
    # The manual provider settles inline (the refund handler runs now); others from a job.
    await billing.request_refund(
        session,
        payment_id,
        amount_cents=due,
        currency=booking.currency,
        reason="cancellation_policy",
        actor=actor,
    )


async def _unmatched(session: AsyncSession, booking: Booking, actor: uuid.UUID | None) -> None:
    """Captured outside billing (recorded by hand): the amount stays in ``refund_due_cents``
    for an admin to settle, and the cancellation itself still goes through."""
    await audit.record(
        session,
        actor,
        "booking.refund_unmatched",
        "booking",
        booking.id,
        {"refund_due_cents": booking.refund_due_cents, "payment_ref": booking.payment_ref},
    )


async def _refund_credits(
    session: AsyncSession, booking: Booking, due: int, actor: uuid.UUID | None
) -> None:
    entry = await session.scalar(
        select(CreditLedgerEntry).where(
            CreditLedgerEntry.booking_id == booking.id, CreditLedgerEntry.reason == "booking"
        )
    )
    if entry is None:
        await _unmatched(session, booking, actor)
        return
    if due == booking.amount_captured_cents:
        await billing.reverse_ledger_entry(
            session, entry.id, actor=actor, note="booking canceled", reason="refund"
        )
    else:
        back = -entry.delta * due // booking.amount_captured_cents
        if back > 0:
            await billing.post_ledger_entry(
                session,
                booking.student_id,
                back,
                "refund",
                source=billing.LedgerSource(booking_id=booking.id),
                actor=actor,
            )
    await mirror_refund(session, booking, due, payment_id=None)


async def mirror_refund(
    session: AsyncSession, booking: Booking, amount_cents: int, *, payment_id: str | None
) -> None:
    """Record on the booking a refund billing made (policy, admin or provider)."""
    amount = min(amount_cents, booking.amount_captured_cents - booking.amount_refunded_cents)
    earned_before = tutor_share(booking.amount_captured_cents - booking.amount_refunded_cents)
    booking.amount_refunded_cents += amount
    if booking.status == "completed" and amount > 0:
        await take_back_earning(session, booking, earned_before)
    booking.refund_due_cents = max(0, booking.refund_due_cents - amount)
    if booking.amount_refunded_cents == booking.amount_captured_cents:
        booking.payment_status = "refunded"
    await session.flush()
    await audit.record(
        session,
        None,
        "booking.refund",
        "booking",
        booking.id,
        {
            "amount_cents": amount,
            "amount_refunded_cents": booking.amount_refunded_cents,
            "payment_id": payment_id,
        },
    )
