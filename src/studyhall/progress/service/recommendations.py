"""Rule-based recommendations: each has a type, a reason code, a sentence for the learner, a
priority and an expiry. The rules are plain functions of what the learner's state is; storing
them keeps a dismissed one dismissed until it expires."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.errors import NotFound
from studyhall.progress.models import UserRecommendation

# The job that refreshes one learner's recommendations after an event. It is defined in
# ``progress.jobs`` (it reads study, courses and scheduling, which import progress) and the
# ledger enqueues it by this name in the event's transaction.
REFRESH_TASK = "studyhall.progress.refresh_learner_recommendations"

# A concept counts as weak below this mastery, once answered at least this often.
WEAK_MASTERY = 0.6
WEAK_MIN_ANSWERS = 2
# "Streak at risk" shows in the last hours of the learner's day.
AT_RISK_WITHIN = timedelta(hours=4)
# "Book a session with your last tutor" shows once the last session is this long ago and nothing
# is booked ahead.
REBOOK_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class WeakConcept:
    concept: str
    subject: str
    topic_id: uuid.UUID | None
    mastery: float


@dataclass(frozen=True)
class NextLesson:
    course_id: uuid.UUID
    course_title: str
    lesson_number: int


@dataclass(frozen=True)
class LastTutor:
    tutor_id: uuid.UUID
    name: str
    last_session_ended_at: datetime


@dataclass(frozen=True)
class State:
    now: datetime
    day_ends_at: datetime
    streak: int
    today_counted: bool
    due_cards: int
    weakest: WeakConcept | None
    next_lesson: NextLesson | None
    last_tutor: LastTutor | None = None


@dataclass(frozen=True)
class Recommendation:
    recommendation_type: str
    reason_code: str
    message: str
    reference_id: uuid.UUID | None
    priority_score: int
    expires_at: datetime


def _hours(delta: timedelta) -> str:
    hours = max(1, round(delta.total_seconds() / 3600))
    return f"{hours} h"


def rules(state: State) -> list[Recommendation]:
    found = []
    left = state.day_ends_at - state.now
    if state.streak > 0 and not state.today_counted and left <= AT_RISK_WITHIN:
        found.append(
            Recommendation(
                "streak_at_risk",
                "streak_ends_tonight",
                f"Streak at risk: {_hours(left)} left in your day",
                None,
                95,
                state.day_ends_at,
            )
        )
    if state.due_cards > 0:
        cards = "card" if state.due_cards == 1 else "cards"
        found.append(
            Recommendation(
                "cards_due",
                "cards_due_now",
                f"{state.due_cards} {cards} due for review",
                None,
                70 + min(state.due_cards, 20),
                state.now + timedelta(hours=6),
            )
        )
    weak = state.weakest
    if weak is not None:
        found.append(
            Recommendation(
                "weak_concept",
                "lowest_concept_mastery",
                f"Weakest concept: {weak.concept} ({weak.subject})",
                weak.topic_id,
                60,
                state.now + timedelta(days=7),
            )
        )
    step = state.next_lesson
    if step is not None:
        found.append(
            Recommendation(
                "continue_lesson",
                "next_unfinished_lesson",
                f"Continue lesson {step.lesson_number} of {step.course_title}",
                step.course_id,
                50,
                state.now + timedelta(days=3),
            )
        )
    tutor = state.last_tutor
    if tutor is not None and state.now - tutor.last_session_ended_at >= REBOOK_AFTER:
        found.append(
            Recommendation(
                "book_tutor",
                "last_tutor_not_rebooked",
                f"Book a session with your last tutor, {tutor.name}",
                tutor.tutor_id,
                40,
                state.now + timedelta(days=7),
            )
        )
    return found


_WEAKEST = text(
    """
    SELECT concept, subject, topic_id, mastery_score FROM learning_profiles
    WHERE user_id = :u AND total_interactions >= :n AND mastery_score < :m
    ORDER BY mastery_score, last_interaction DESC LIMIT 1
    """
)


async def weakest_concept(session: AsyncSession, user_id: uuid.UUID) -> WeakConcept | None:
    row = (
        await session.execute(_WEAKEST, {"u": user_id, "n": WEAK_MIN_ANSWERS, "m": WEAK_MASTERY})
    ).first()
    return None if row is None else WeakConcept(row[0], row[1], row[2], float(row[3]))


_UPSERT = text(
    """
    INSERT INTO user_recommendations (user_id, recommendation_type, reason_code, message,
      reference_id, priority_score, generated_at, expires_at)
    VALUES (:u, :type, :reason, :message, :reference, :priority, :now, :expires)
    ON CONFLICT (user_id, recommendation_type, reason_code) DO UPDATE SET
      message = EXCLUDED.message, reference_id = EXCLUDED.reference_id,
      priority_score = EXCLUDED.priority_score, generated_at = EXCLUDED.generated_at,
      expires_at = EXCLUDED.expires_at,
      dismissed_at = CASE WHEN user_recommendations.expires_at <= :now
                          OR user_recommendations.reference_id
                             IS DISTINCT FROM EXCLUDED.reference_id
                     THEN NULL ELSE user_recommendations.dismissed_at END
    """
)
_DROP_STALE = text(
    """
    DELETE FROM user_recommendations
    WHERE user_id = :u AND NOT (recommendation_type || ':' || reason_code = ANY(:keep))
    """
)


async def store(
    session: AsyncSession, user_id: uuid.UUID, found: list[Recommendation], now: datetime
) -> None:
    """Replace the learner's recommendations with ``found``. A dismissed one stays dismissed
    while it is the same advice (same thing, not expired)."""
    keep = [f"{r.recommendation_type}:{r.reason_code}" for r in found]
    await session.execute(_DROP_STALE, {"u": user_id, "keep": keep})
    for r in found:
        await session.execute(
            _UPSERT,
            {
                "u": user_id,
                "type": r.recommendation_type,
                "reason": r.reason_code,
                "message": r.message,
                "reference": r.reference_id,
                "priority": r.priority_score,
                "now": now,
                "expires": r.expires_at,
            },
        )


async def dismiss(
    session: AsyncSession, user_id: uuid.UUID, recommendation_id: uuid.UUID, now: datetime
) -> None:
    done = await session.scalar(
        update(UserRecommendation)
        .where(UserRecommendation.id == recommendation_id, UserRecommendation.user_id == user_id)
        .values(dismissed_at=now)
        .returning(UserRecommendation.id)
    )
    if done is None:
        raise NotFound("No such recommendation.", code="recommendation_not_found")
