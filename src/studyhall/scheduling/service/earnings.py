"""What a tutor earns from a booking: the captured amount less the platform fee, recorded as a
payout entry when the booking completes and taken back when a refund follows completion."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as accounts_profiles
from studyhall.billing import service as billing
from studyhall.billing.config import billing_settings
from studyhall.kit.errors import NotFound
from studyhall.scheduling.models import Booking


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
    await billing.record_earning(
        session, booking.tutor_id, booking.id, tutor_share(net), booking.currency
    )
    try:
        await accounts_profiles.record_tutor_earning(session, booking.tutor_id, tutor_share(net))
    except NotFound:
        # A tutor without a profile (an admin-made account) has no totals to keep.
        return


async def take_back_earning(session: AsyncSession, booking: Booking, earned_before: int) -> None:
    """A refund after completion takes the tutor's share of it back: from the totals, and as a
    negative payout entry (carried into the next statement if the earning was already paid)."""
    earned_now = tutor_share(booking.amount_captured_cents - booking.amount_refunded_cents)
    back = earned_now - earned_before
    await billing.record_refund_of_earning(
        session, booking.tutor_id, booking.id, back, booking.currency, booking.amount_refunded_cents
    )
    if back < 0:
        try:
            await accounts_profiles.record_tutor_earning(session, booking.tutor_id, back, 0)
        except NotFound:
            return
