"""The booking policies: how much of what was paid goes back, and how long a tutor may take to
approve."""

from __future__ import annotations

from datetime import datetime, timedelta

from studyhall.scheduling.config import scheduling_settings
from studyhall.scheduling.models import Booking

# Who may cancel for reasons that are not the student's: the student always gets everything back.
_FULL_REFUND_PARTIES = frozenset({"tutor", "admin", "system"})


def refund_due(booking: Booking, canceled_by: str, now: datetime) -> int:
    """Cents owed back if ``canceled_by`` cancels ``booking`` at ``now``.

    The policy is the one snapshotted on the booking when it was made: a student canceling at
    least ``full_refund_notice_hours`` before the start gets everything captured back, later
    only ``late_refund_percent`` of it (rounded down); a cancellation by the tutor, an admin or
    the system is always a full refund. Anything already refunded is not owed twice.
    """
    refundable = max(0, booking.amount_captured_cents - booking.amount_refunded_cents)
    if canceled_by in _FULL_REFUND_PARTIES:
        return refundable
    if canceled_by != "student":
        raise ValueError(f"unknown canceling party {canceled_by!r}")
    if booking.start_at - now >= timedelta(hours=booking.full_refund_notice_hours):
        return refundable
    return refundable * booking.late_refund_percent // 100


def approval_deadline(start_at: datetime, now: datetime) -> datetime:
    """A booking waiting for the tutor lapses after ``booking_approval_hours``, or at its start."""
    return min(start_at, now + timedelta(hours=scheduling_settings().booking_approval_hours))
