"""Achievements: unlocked once, in the transaction of the event that earns them, with a
notification and an ``AchievementUnlocked`` fact in that same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit import events
from studyhall.notifications import service as notifications
from studyhall.progress.events import AchievementUnlocked
from studyhall.progress.models import CRITERIA_TYPES, Achievement, UserAchievement

# The learner's counter for each criterion, from their ledger, timer and streak row.
_COUNTERS = """
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
_COUNTER_OF_CRITERION = " ".join(f"WHEN '{name}' THEN c.{name}" for name in CRITERIA_TYPES)
# One statement per check: the active definitions the learner lacks and now reaches (usually
# none), so an event that unlocks nothing loads no definition.
_REACHED = text(
    f"""
    WITH c AS ({_COUNTERS})
    SELECT a.* FROM achievements a CROSS JOIN c
    WHERE a.is_active
      AND NOT EXISTS (SELECT 1 FROM user_achievements ua
                      WHERE ua.user_id = :u AND ua.achievement_id = a.id)
      AND CASE a.criteria_type {_COUNTER_OF_CRITERION} END >= a.criteria_value
    ORDER BY a.criteria_value, a.code
    """
)


@dataclass(frozen=True)
class Unlocked:
    achievement_id: uuid.UUID
    title: str
    xp_reward: int


async def unlock(
    session: AsyncSession, user_id: uuid.UUID, achievement: Achievement
) -> Unlocked | None:
    """Insert the unlock once (the unique pair refuses a second) and notify on the first."""
    unlocked_at = await session.scalar(
        insert(UserAchievement)
        .values(user_id=user_id, achievement_id=achievement.id)
        .on_conflict_do_nothing(index_elements=["user_id", "achievement_id"])
        .returning(UserAchievement.unlocked_at)
    )
    if unlocked_at is None:
        return None
    fact = AchievementUnlocked(
        user_id=user_id,
        achievement_id=achievement.id,
        code=achievement.code,
        xp_reward=achievement.xp_reward,
        at=unlocked_at,
    )
    await events.emit(session, fact)
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
    reached = (
        await session.scalars(select(Achievement).from_statement(_REACHED), {"u": user_id})
    ).all()
    unlocked = []
    for achievement in reached:
        done = await unlock(session, user_id, achievement)
        if done is not None:
            unlocked.append(done)
    return unlocked


# Who reaches a definition's target, by criteria type: the same counters as ``counters``,
# computed for every learner at once.
_QUALIFYING = {
    "total_xp": "SELECT user_id FROM xp_logs GROUP BY user_id HAVING sum(xp_amount) >= :v",
    "quizzes_passed": "SELECT user_id FROM xp_logs WHERE reason = 'quiz_passed' "
    "GROUP BY user_id HAVING count(*) >= :v",
    "lessons_completed": "SELECT user_id FROM xp_logs WHERE reason = 'lesson_completed' "
    "GROUP BY user_id HAVING count(*) >= :v",
    "cards_reviewed": "SELECT user_id FROM xp_logs WHERE reason = 'card_reviewed' "
    "GROUP BY user_id HAVING count(*) >= :v",
    "questions_asked": "SELECT user_id FROM xp_logs WHERE reason = 'question_asked' "
    "GROUP BY user_id HAVING count(*) >= :v",
    "study_minutes": "SELECT user_id FROM study_sessions WHERE ended_at IS NOT NULL "
    "GROUP BY user_id HAVING sum(duration_seconds) / 60 >= :v",
    "streak_days": "SELECT user_id FROM user_streaks WHERE longest_streak >= :v",
}


async def qualifying(
    session: AsyncSession, achievement: Achievement, limit: int
) -> list[uuid.UUID]:
    """Learners who reach the target and lack the unlock (up to ``limit``)."""
    query = text(
        f"""
        SELECT q.user_id FROM ({_QUALIFYING[achievement.criteria_type]}) q
        WHERE NOT EXISTS (SELECT 1 FROM user_achievements ua
                          WHERE ua.user_id = q.user_id AND ua.achievement_id = :a)
        ORDER BY q.user_id LIMIT :limit
        """
    )
    params = {"v": achievement.criteria_value, "a": achievement.id, "limit": limit}
    return list((await session.scalars(query, params)).all())
