"""HTTP for a learner's own totals."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.scheduling import service
from studyhall.scheduling.schemas import LearnerTotalsRead

router = APIRouter()


@router.get(
    "/me/learner-totals",
    summary="Get your learner totals",
)
async def learner_totals_get(user: CurrentUser, session: Session) -> LearnerTotalsRead:
    """Sessions you booked and what they cost you, per currency, computed on read."""
    totals = await service.learner_totals(session, user.id)
    return LearnerTotalsRead(
        total_sessions_booked=totals.total_sessions_booked,
        total_spent_cents=totals.total_spent_cents,
    )
