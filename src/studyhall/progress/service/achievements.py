"""Achievements: unlocked once, in the transaction of the event that earns them, with a
notification in that same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.notifications import service as notifications
from studyhall.progress.models import Achievement, UserAchievement

_COUNTERS = text(
    """
    SELECT
      coalesce(sum(xp_amount), 0) AS total_xp,
      count(*) FILTER (WHERE reason = 'quiz_passed') AS quizzes_passed,
      count(*) FILTER (WHERE reason = 'lesson_completed') AS lessons_completed,
      count(*) FILTER (WHERE reason = 'card_reviewed') AS cards_reviewed,
      count(*) FILTER (WHERE reason = 'question_asked') AS questions_asked,
      (SELECT coalesce(sum(duration_seconds), 0) / 60 FROM study_sessions
        WHERE user_id = :u AND ended_at IS NOT NULL) AS study_minutes,
      (SELECT coalesce(max(longest_streak), 0) FROM user_streaks WHERE user_id = :u)
        AS streak_days
    FROM xp_logs WHERE user_id = :u
    """
)


@dataclass(frozen=True)
class Unlocked:
    achievement_id: uuid.UUID
    title: str
    xp_reward: int


async def counters(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    row = (await session.execute(_COUNTERS, {"u": user_id})).mappings().one()
    return {key: int(value) for key, value in row.items()}


async def pending(session: AsyncSession, user_id: uuid.UUID) -> list[Achievement]:
    """Active definitions the learner has not unlocked yet."""
    owned = select(UserAchievement.achievement_id).where(UserAchievement.user_id == user_id)
    return list(
        (
            await session.scalars(
                select(Achievement)
                .where(Achievement.is_active, Achievement.id.not_in(owned))
                .order_by(Achievement.criteria_value, Achievement.code)
            )
        ).all()
    )


async def unlock(
    session: AsyncSession, user_id: uuid.UUID, achievement: Achievement
) -> Unlocked | None:
    """Insert the unlock once (the unique pair refuses a second) and notify on the first."""
    inserted = await session.scalar(
        insert(UserAchievement)
        .values(user_id=user_id, achievement_id=achievement.id)
        .on_conflict_do_nothing(index_elements=["user_id", "achievement_id"])
        .returning(UserAchievement.id)
    )
    if inserted is None:
        return None
    await notifications.notify(
        session,
        user_id,
        "achievement_unlocked",
        {
            "title": achievement.title,
            "description": achievement.description,
            "badge_icon": achievement.badge_icon,
            "url": "/me/progress",
        },
        entity="achievement",
        entity_id=achievement.id,
        dedupe_key=f"achievement_unlocked:{achievement.id}",
    )
    return Unlocked(achievement.id, achievement.title, achievement.xp_reward)


async def earned(session: AsyncSession, user_id: uuid.UUID) -> list[Unlocked]:
    """Unlock every pending definition the learner's counters now reach."""
    candidates = await pending(session, user_id)
    if not candidates:
        return []
    reached = await counters(session, user_id)
    unlocked = []
    for achievement in candidates:
        if reached.get(achievement.criteria_type, 0) >= achievement.criteria_value:
            done = await unlock(session, user_id, achievement)
            if done is not None:
                unlocked.append(done)
    return unlocked
