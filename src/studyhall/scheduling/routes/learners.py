"""HTTP for a learner's own totals."""

from __future__ import annotations

from fastapi import APIRouter

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.scheduling.schemas import LearnerTotalsRead
from studyhall.scheduling.service.learner_totals import learner_totals

router = APIRouter(tags=["bookings"])


@router.get(
    "/me/learner-totals",
    summary="Sessions you booked and what they cost you, per currency (computed on read)",
)
async def get_learner_totals(user: CurrentUser, session: Session) -> LearnerTotalsRead:
    totals = await learner_totals(session, user.id)
    return LearnerTotalsRead(
        total_sessions_booked=totals.total_sessions_booked,
        total_spent_cents=totals.total_spent_cents,
    )
