"""A learner's totals, computed from their bookings when asked (never stored).

Computed rather than kept in counters because every path that changes them already writes the
booking row (booking, payment, approval, cancellation, decline, an expired hold, a refund that
settles later in billing, a closed account's wind-down): a counter would need each of them to
remember it, while the booking rows are the truth by construction. One indexed query over the
student's bookings (``ix_bookings_student_start``) is cheap at a learner's scale.

- ``total_sessions_booked``: bookings that are confirmed or completed. Holds awaiting payment or
  approval are not sessions yet; canceled, declined and refunded ones are no longer. A
  reschedule moves the same booking, so it counts once.
- ``total_spent_cents``: per currency (a learner may pay tutors in several, so one integer
  cannot hold the total), what was captured for the learner's bookings minus what was refunded,
  whatever the booking's status: a late cancellation that kept half the price cost half. A
  refund counts once billing has settled it. Credits spent on a booking count at its price.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.scheduling.models import Booking

COUNTED_STATUSES = ("confirmed", "completed")


@dataclass(frozen=True)
class LearnerTotals:
    total_sessions_booked: int
    total_spent_cents: dict[str, int]


async def learner_totals(session: AsyncSession, student_id: uuid.UUID) -> LearnerTotals:
    spent_by_currency = select(
        Booking.currency,
        func.count().filter(Booking.status.in_(COUNTED_STATUSES)),
        func.sum(Booking.amount_captured_cents - Booking.amount_refunded_cents),
    ).where(Booking.student_id == student_id)
    rows = (await session.execute(spent_by_currency.group_by(Booking.currency))).all()
    return LearnerTotals(
        total_sessions_booked=sum(int(count) for _, count, _ in rows),
        total_spent_cents={
            currency: int(spent) for currency, _, spent in rows if spent and int(spent) != 0
        },
    )
