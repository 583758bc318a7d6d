"""A learner's tutoring history, for other domains (progress suggests booking again)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.scheduling.models import ACTIVE_STATUSES


@dataclass(frozen=True)
class PastTutor:
    tutor_id: uuid.UUID
    name: str
    last_session_ended_at: datetime


_LAST_TUTOR = text(
    f"""
    SELECT b.tutor_id, u.name, b.end_at FROM bookings b JOIN users u ON u.id = b.tutor_id
    WHERE b.student_id = :student AND b.status IN ('confirmed', 'completed') AND b.end_at <= :now
      AND u.deleted_at IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM bookings n
        WHERE n.student_id = :student AND n.start_at > :now
          AND n.status IN ({", ".join(f"'{s}'" for s in ACTIVE_STATUSES)}))
    ORDER BY b.end_at DESC LIMIT 1
    """
)


async def last_tutor_not_rebooked(
    session: AsyncSession, student_id: uuid.UUID, now: datetime
) -> PastTutor | None:
    """The tutor of the learner's latest finished session, when nothing is booked ahead."""
    row = (await session.execute(_LAST_TUTOR, {"student": student_id, "now": now})).first()
    return None if row is None else PastTutor(row[0], row[1], row[2])
