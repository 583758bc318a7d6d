"""Bookings paid through billing (seed 001 ``create_booking_with_payment()``).

Registers the ``booking`` purpose with billing: a payment that succeeds confirms the hold, one
that fails releases it, one that succeeds after its hold is gone is refunded in full, and every
refund (policy, admin, provider) is mirrored on the booking. Paying with credits debits the
ledger in the booking's own transaction. No provider is called here: ``book`` writes the hold and
its pending payment in one transaction, and the route opens the payment at the provider after
that transaction commits (``billing.pay_once``), so no transaction waits on the network (rule 4).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as accounts_profiles
from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.billing import ledger, payments, payouts, purposes, refunds
from studyhall.billing.config import billing_settings
from studyhall.billing.models import CreditLedgerEntry, Payment
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.scheduling import notify
from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.models import Booking
from studyhall.scheduling.service.bookings import (
    cancel_booking,
    create_booking,
    decide_approval,
    get_booking,
    load_slot,
    reschedule_booking,
)
from studyhall.scheduling.service.common import trusted
from studyhall.scheduling.service.payments import confirm_booking_payment, release_hold

PURPOSE = "booking"
PayWith = Literal["provider", "credits"]


@dataclass(frozen=True)
class Booked:
    """A new booking and, for a paid one paid through a provider, its pending payment."""

    booking: Booking
    payment: Payment | None


def credits_for(price_cents: int) -> int:
    """Credits a booking costs: one credit pays ``booking_credit_cents`` minor units, rounded up."""
    return math.ceil(price_cents / scheduling_settings().booking_credit_cents)


async def _booking(session: AsyncSession, booking_id: uuid.UUID) -> Booking | None:
    # Billing acts for the system (webhooks have no signed-in user). No row lock here: the
    # scheduling functions called next lock the tutor's schedule row first, then the booking.
    await trusted(session)
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
        await notify.booking_confirmed(session, confirmed)


async def _refund_late(session: AsyncSession, booking: Booking, payment: Payment, why: str) -> None:
    """The money arrived for a seat the booking no longer holds: record it and give it back."""
    if booking.status in ("pending_payment", "pending_approval"):
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
    await refunds.request(
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
    await _mirror_refund(session, booking, amount_cents, payment_id=str(payment.id))


async def _mirror_refund(
    session: AsyncSession, booking: Booking, amount_cents: int, *, payment_id: str | None
) -> None:
    amount = min(amount_cents, booking.amount_captured_cents - booking.amount_refunded_cents)
    earned_before = tutor_share(booking.amount_captured_cents - booking.amount_refunded_cents)
    booking.amount_refunded_cents += amount
    if booking.status == "completed" and amount > 0:
        await _take_back_earning(session, booking, earned_before)
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


purposes.register(purposes.Purpose(PURPOSE, "one_off", on_succeeded, on_failed, on_refunded))


async def book(
    session: AsyncSession,
    student: User,
    slot_id: uuid.UUID,
    notes: str | None,
    now: datetime,
    *,
    pay_with: PayWith = "provider",
    provider: str | None = None,
) -> Booked:
    """Create a booking and, for a paid offering, its pending payment, in the caller's
    transaction. Credits are debited here; a provider payment is opened after it commits."""
    _slot, offering = await load_slot(session, slot_id)
    if offering.price_cents == 0:
        booking = await create_booking(session, student, slot_id, notes, now)
        if booking.status == "confirmed":
            await notify.booking_confirmed(session, booking)
        return Booked(booking, None)
    if pay_with == "credits":
        return Booked(await _book_with_credits(session, student, slot_id, notes, now), None)
    provider_name = payments.choose_provider(provider)
    booking = await create_booking(session, student, slot_id, notes, now)
    payment = await payments.prepare(
        session,
        user=student,
        purpose=PURPOSE,
        purpose_id=booking.id,
        amount_cents=booking.price_cents,
        currency=booking.currency,
        description=offering.title[:200],
        provider=provider_name,
    )
    return Booked(booking, payment)


async def _book_with_credits(
    session: AsyncSession, student: User, slot_id: uuid.UUID, notes: str | None, now: datetime
) -> Booking:
    booking = await create_booking(session, student, slot_id, notes, now)
    credits = credits_for(booking.price_cents)
    # 402 insufficient_credits rolls the whole request back: no booking without the debit.
    entry = await ledger.post(
        session,
        student.id,
        -credits,
        "booking",
        source=ledger.Source(booking_id=booking.id),
        actor=student.id,
    )
    booking.payment_method = "credits"
    await session.flush()
    booking = await confirm_booking_payment(
        session, booking.id, f"credits:{entry.id}", booking.price_cents, now
    )
    if booking.status == "confirmed":
        await notify.booking_confirmed(session, booking)
    return booking


async def abandon_payments(
    session: AsyncSession, booking_ids: list[uuid.UUID], reason: str
) -> None:
    """Holds that ended unpaid (expired, canceled): billing cancels their pending provider
    payments from a job, outside any transaction, and fails them with ``reason``."""
    from studyhall.billing.jobs import abandon_pending

    await trusted(session)
    await abandon_pending(session, PURPOSE, booking_ids, reason)


async def lock_payments(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """Lock the booking's payment rows: call before the tutor's schedule row is locked.

    Billing applies a payment's events in the order payment row → (purpose handler) schedule row
    → booking; a cancellation or decline that refunds takes the same locks, so it takes them in
    the same order, or the two would deadlock (docs/billing.md, "Lock order").
    """
    await trusted(session)  # a tutor or admin cancels the student's payment too
    await session.execute(
        select(Payment.id)
        .where(Payment.purpose == PURPOSE, Payment.purpose_id == booking_id)
        .order_by(Payment.id)
        .with_for_update()
    )


async def refund_due(session: AsyncSession, booking: Booking, actor: uuid.UUID | None) -> None:
    """Execute ``booking.refund_due_cents`` (set by cancel/decline) through billing."""
    due = booking.refund_due_cents
    if due <= 0:
        return
    # The refund goes to the student even when the tutor or an admin cancels: billing's rows
    # of another user are touched for the system, as this function decides.
    await trusted(session)
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
    # The manual provider settles inline (on_refunded runs now); others settle from a job.
    await refunds.request(
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
        await ledger.reverse(
            session, entry.id, actor=actor, note="booking canceled", reason="refund"
        )
    else:
        back = -entry.delta * due // booking.amount_captured_cents
        if back > 0:
            await ledger.post(
                session,
                booking.student_id,
                back,
                "refund",
                source=ledger.Source(booking_id=booking.id),
                actor=actor,
            )
    await _mirror_refund(session, booking, due, payment_id=None)


async def _take_back_earning(session: AsyncSession, booking: Booking, earned_before: int) -> None:
    """A refund after completion takes the tutor's share of it back: from the totals, and as a
    negative payout entry (carried into the next statement if the earning was already paid)."""
    earned_now = tutor_share(booking.amount_captured_cents - booking.amount_refunded_cents)
    back = earned_now - earned_before
    await payouts.record_refund(
        session, booking.tutor_id, booking.id, back, booking.currency, booking.amount_refunded_cents
    )
    if back < 0:
        try:
            await accounts_profiles.record_tutor_earning(session, booking.tutor_id, back, 0)
        except NotFound:
            return


def tutor_share(captured_cents: int) -> int:
    """What the tutor earns from ``captured_cents`` after the platform fee (half up)."""
    rate = Decimal(str(billing_settings().platform_fee_rate))
    fee = (Decimal(captured_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return captured_cents - int(fee)


async def record_earning(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """Called in the transaction that makes the booking ``completed``, so it runs once."""
    booking = await session.get(Booking, booking_id)
    assert booking is not None
    net = booking.amount_captured_cents - booking.amount_refunded_cents
    await payouts.record_earning(
        session, booking.tutor_id, booking.id, tutor_share(net), booking.currency
    )
    try:
        await accounts_profiles.record_tutor_earning(session, booking.tutor_id, tutor_share(net))
    except NotFound:
        # A tutor without a profile (an admin-made account) has no totals to keep.
        return


async def cancel(
    session: AsyncSession, actor: User, booking_id: uuid.UUID, reason: str | None, now: datetime
) -> Booking:
    """Cancel a booking for the student or the tutor: what the policy owes goes back, an unpaid
    payment is abandoned, and the other party is told. The API and the web app both call this."""
    was = (await get_booking(session, actor, booking_id)).status
    await lock_payments(session, booking_id)
    booking = await cancel_booking(session, actor, booking_id, reason, now)
    await refund_due(session, booking, actor.id)
    if was == "pending_payment":
        await abandon_payments(session, [booking.id], "booking_canceled")
    await notify.booking_canceled(session, booking, tell=was in ("confirmed", "pending_approval"))
    return booking


async def approve(
    session: AsyncSession, tutor: User, booking_id: uuid.UUID, now: datetime
) -> Booking:
    """The tutor accepts a booking that waits for approval; the student is told. The API and the
    web app both call this."""
    booking = await decide_approval(session, tutor, booking_id, True, None, now)
    await notify.booking_confirmed(session, booking)
    return booking


async def decline(
    session: AsyncSession, tutor: User, booking_id: uuid.UUID, reason: str | None, now: datetime
) -> Booking:
    """The tutor turns a booking down: the student gets back what they paid and is told."""
    await get_booking(session, tutor, booking_id)
    await lock_payments(session, booking_id)
    booking = await decide_approval(session, tutor, booking_id, False, reason, now)
    await refund_due(session, booking, tutor.id)
    await notify.booking_canceled(session, booking, tell=True)
    return booking


async def reschedule(
    session: AsyncSession, actor: User, booking_id: uuid.UUID, slot_id: uuid.UUID, now: datetime
) -> Booking:
    """Move a booking to another slot of its offering (same price, same payment); the other
    party is told. The API and the web app both call this."""
    booking = await reschedule_booking(session, actor, booking_id, slot_id, now)
    await notify.booking_rescheduled(session, booking)
    return booking
