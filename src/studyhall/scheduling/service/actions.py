"""What a party does to a booking, with its money and its notices: book (and pay), cancel,
approve, decline, reschedule. The API and the web app both call these, so a page and an API
client get one behaviour.

``book`` writes the hold and its pending payment in one transaction; ``book_and_pay`` opens the
payment at the provider after that transaction commits (``billing.pay_once``), so no transaction
waits on the network, and stores the answer under the request's Idempotency-Key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.billing import service as billing
from studyhall.billing.models import Payment
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.scheduling.models import Booking, Offering, Slot
from studyhall.scheduling.schemas import BookingCreate, BookingCreated, BookingPayment
from studyhall.scheduling.service import notices
from studyhall.scheduling.service.bookings import (
    cancel_booking,
    create_booking,
    decide_approval,
    get_booking,
    load_slot,
    reschedule_booking,
)
from studyhall.scheduling.service.clock import utcnow
from studyhall.scheduling.service.holds import confirm_booking_payment
from studyhall.scheduling.service.payments import (
    PURPOSE,
    abandon_payments,
    credits_for,
    lock_payments,
    refund_owed,
)

if TYPE_CHECKING:
    from fastapi.responses import JSONResponse

PayWith = Literal["provider", "credits"]
CREATED = 201


@dataclass(frozen=True)
class Booked:
    """A new booking and, for a paid one paid through a provider, its pending payment."""

    booking: Booking
    payment: Payment | None


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
    await cross_users(session)  # the tutor's slot, other students' lapsed holds
    loaded = await load_slot(session, slot_id)
    offering = loaded[1]
    if offering.price_cents == 0:
        booking = await create_booking(session, student, slot_id, notes, now, loaded=loaded)
        if booking.status == "confirmed":
            await notices.booking_confirmed(session, booking)
        return Booked(booking, None)
    if pay_with == "credits":
        return Booked(await _book_with_credits(session, student, loaded, notes, now), None)
    provider_name = billing.choose_provider(provider)
    booking = await create_booking(session, student, slot_id, notes, now, loaded=loaded)
    payment = await billing.prepare_payment(
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
    session: AsyncSession,
    student: User,
    loaded: tuple[Slot, Offering],
    notes: str | None,
    now: datetime,
) -> Booking:
    booking = await create_booking(session, student, loaded[0].id, notes, now, loaded=loaded)
    credits = credits_for(booking.price_cents)
    # 402 insufficient_credits rolls the whole request back: no booking without the debit.
    entry = await billing.post_ledger_entry(
        session,
        student.id,
        -credits,
        "booking",
        source=billing.LedgerSource(booking_id=booking.id),
        actor=student.id,
    )
    booking.payment_method = "credits"
    await session.flush()
    booking = await confirm_booking_payment(
        session, booking.id, f"credits:{entry.id}", booking.price_cents, now
    )
    if booking.status == "confirmed":
        await notices.booking_confirmed(session, booking)
    return booking


async def book_and_pay(
    database: Database, user: User, data: BookingCreate, key: str | None
) -> JSONResponse:
    """Book and open the payment in short transactions around the provider call; the JSON
    answer (a ``BookingCreated``) is stored for the idempotency key, so a retry with the same key
    gets the byte-identical first answer."""

    async def prepare(session: AsyncSession) -> billing.Intent:
        done = await book(
            session,
            user,
            data.slot_id,
            data.notes,
            utcnow(),
            pay_with=data.pay_with,
            provider=data.provider,
        )
        payment_id = None if done.payment is None else done.payment.id
        return billing.Intent(CREATED, done.booking.id, payment_id)

    async def answer(
        session: AsyncSession, intent: billing.Intent, opened: billing.Started | None
    ) -> BookingCreated:
        booking = await get_booking(session, user, intent.subject_id)
        body = BookingCreated.model_validate(booking)
        body.payment = payment_view(booking, opened)
        return body

    return await billing.pay_once(
        database,
        user_id=user.id,
        key=key,
        scope="POST /bookings",
        payload=data,
        prepare=prepare,
        answer=answer,
    )


def payment_view(booking: Booking, opened: billing.Started | None) -> BookingPayment | None:
    """How a new booking is paid: the provider's checkout, the credits spent, or nothing."""
    if opened is not None:
        checkout = opened.checkout
        return BookingPayment(
            payment_id=opened.payment.id,
            provider=opened.payment.provider,
            status=opened.payment.status,
            amount_cents=opened.payment.amount_cents,
            currency=opened.payment.currency,
            client_secret=checkout.client_secret,
            checkout_url=checkout.checkout_url,
            payment_key=checkout.payment_key,
        )
    if booking.payment_method == "credits":
        return BookingPayment(
            status="succeeded",
            amount_cents=booking.price_cents,
            currency=booking.currency,
            credits_spent=credits_for(booking.price_cents),
        )
    return None


async def cancel(
    session: AsyncSession, actor: User, booking_id: uuid.UUID, reason: str | None, now: datetime
) -> Booking:
    """Cancel a booking for the student or the tutor: what the policy owes goes back, an unpaid
    payment is abandoned, and the other party is told."""
    await cross_users(session)  # a tutor or admin cancels the student's payment too
    was = (await get_booking(session, actor, booking_id)).status
    await lock_payments(session, booking_id)
    booking = await cancel_booking(session, actor, booking_id, reason, now)
    await refund_owed(session, booking, actor.id)
    if was == "pending_payment":
        await abandon_payments(session, [booking.id], "booking_canceled")
    await notices.booking_canceled(session, booking, tell=was in ("confirmed", "pending_approval"))
    return booking


async def approve(
    session: AsyncSession, tutor: User, booking_id: uuid.UUID, now: datetime
) -> Booking:
    """The tutor accepts a booking that waits for approval; the student is told."""
    booking = await decide_approval(session, tutor, booking_id, True, None, now)
    await notices.booking_confirmed(session, booking)
    return booking


async def decline(
    session: AsyncSession, tutor: User, booking_id: uuid.UUID, reason: str | None, now: datetime
) -> Booking:
    """The tutor turns a booking down: the student gets back what they paid and is told."""
    await cross_users(session)  # the student's payment is given back
    await get_booking(session, tutor, booking_id)
    await lock_payments(session, booking_id)
    booking = await decide_approval(session, tutor, booking_id, False, reason, now)
    await refund_owed(session, booking, tutor.id)
    await notices.booking_canceled(session, booking, tell=True)
    return booking


async def reschedule(
    session: AsyncSession, actor: User, booking_id: uuid.UUID, slot_id: uuid.UUID, now: datetime
) -> Booking:
    """Move a booking to another slot of its offering (same price, same payment); the other
    party is told."""
    booking = await reschedule_booking(session, actor, booking_id, slot_id, now)
    await notices.booking_rescheduled(session, booking)
    return booking
