"""Facts the tutoring marketplace emits (``kit.events``) inside the transaction that made them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BookingCreated:
    booking_id: uuid.UUID
    student_id: uuid.UUID
    tutor_id: uuid.UUID
    offering_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True)
class BookingCanceled:
    booking_id: uuid.UUID
    student_id: uuid.UUID
    tutor_id: uuid.UUID
    canceled_by: uuid.UUID | None
    reason: str | None


@dataclass(frozen=True)
class BookingRescheduled:
    booking_id: uuid.UUID
    student_id: uuid.UUID
    tutor_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    previous_starts_at: datetime
