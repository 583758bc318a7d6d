"""A tutor's ``rating``, ``rating_count`` and directory score, set from their visible reviews.

The reviews live with the bookings they judge (scheduling); this module owns the profile
columns. The directory sorts by a Bayesian average rather than the plain mean, so one 5-star
review does not outrank a hundred 4.8s: every tutor starts as if they had ``PRIOR_WEIGHT``
reviews of ``PRIOR_MEAN`` stars, and their own reviews pull the score away from that:

    score = (PRIOR_WEIGHT * PRIOR_MEAN + sum of stars) / (PRIOR_WEIGHT + count)

One 5-star review scores 4.167; a hundred reviews averaging 4.8 score 4.762.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.errors import NotFound

PRIOR_MEAN = Decimal("4.0")
PRIOR_WEIGHT = 5


@dataclass(frozen=True)
class RatingTotals:
    """The visible reviews of one tutor: how many, and their stars added up."""

    count: int
    stars: int


def mean(totals: RatingTotals) -> Decimal | None:
    if totals.count == 0:
        return None
    return (Decimal(totals.stars) / totals.count).quantize(Decimal("0.01"), ROUND_HALF_UP)


def bayesian_score(totals: RatingTotals) -> Decimal:
    score = (PRIOR_WEIGHT * PRIOR_MEAN + totals.stars) / (PRIOR_WEIGHT + totals.count)
    return score.quantize(Decimal("0.001"), ROUND_HALF_UP)


# Locks the tutor's profile, counts their visible reviews in a statement that starts after the
# lock was granted (under READ COMMITTED it sees every review whose writer held the lock before,
# so the last writer's totals include everyone's) and stores ``mean`` and ``bayesian_score`` of
# them. A SECURITY DEFINER function (migration ``0028_rls_marketplace``): a student's review
# moves the tutor's rating, yet the student may not write the tutor's profile.
_REFRESH = text("SELECT studyhall_tutor_rating_refresh(:tutor)")


async def refresh_rating(session: AsyncSession, tutor_user_id: uuid.UUID) -> None:
    """Recount ``tutor_user_id``'s visible reviews into their profile's rating columns."""
    if not await session.scalar(_REFRESH, {"tutor": tutor_user_id}):
        raise NotFound("No such tutor.", code="tutor_not_found")
