"""Usage: the caller's AI quota counters and recent metered calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.study.schemas import QuotaRead, UsageRead, UsageSummary
from studyhall.study.service import quota

router = APIRouter()


@router.get("/ai/usage", response_model=UsageSummary, summary="Get my AI usage")
async def ai_usage_get(user: CurrentUser, session: Session) -> Any:
    """Your AI quota counters (this day and month) and your last 50 metered calls."""
    counters, calls = await quota.usage_summary(session, user.id)
    return UsageSummary(
        quotas=[
            QuotaRead(
                period=c.period,
                period_start=c.period_start.isoformat(),
                limit_tokens=c.limit_tokens,
                used_tokens=c.used_tokens,
                reserved_tokens=c.reserved_tokens,
            )
            for c in counters
        ],
        recent=[UsageRead.model_validate(r) for r in calls],
    )
