"""``GET /me/progress`` in a fixed number of statements: the learner's row and zone, one pass
over their ledger, today's timer, their recommendations, the next achievement. (Due cards and
continue-learning come from the study and courses domains: two more.)"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.timezones import local_date, local_day_bounds, validate_zone
from studyhall.progress.service import streaks
from studyhall.progress.service.entries import week_start

# Level n starts at XP_PER_LEVEL * (n - 1)^2: each level takes a little longer than the last.
XP_PER_LEVEL = 50

_PROFILE = text(
    """
    SELECT u.timezone, s.current_streak, s.longest_streak, s.last_study_date,
           coalesce(s.daily_goal_type, 'activity') AS goal_type,
           coalesce(s.daily_goal_minutes, 10) AS goal_minutes,
           coalesce(s.freezes_available, 0) AS freezes
    FROM users u LEFT JOIN user_streaks s ON s.user_id = u.id WHERE u.id = :u
    """
)
_LEDGER = text(
    """
    SELECT coalesce(sum(xp_amount), 0) AS total_xp,
      coalesce(sum(xp_amount) FILTER (WHERE created_at >= :week), 0) AS week_xp,
      coalesce(sum(xp_amount) FILTER (WHERE local_date = :today), 0) AS today_xp,
      count(*) FILTER (WHERE local_date = :today
                         AND source_type IN ('quiz', 'lesson', 'review', 'study'))
        AS today_activities,
      count(*) FILTER (WHERE reason = 'quiz_passed') AS quizzes_passed,
      count(*) FILTER (WHERE reason = 'lesson_completed') AS lessons_completed,
      count(*) FILTER (WHERE reason = 'card_reviewed') AS cards_reviewed,
      count(*) FILTER (WHERE reason = 'question_asked') AS questions_asked
    FROM xp_logs WHERE user_id = :u
    """
)
_TIMER = text(
    """
    SELECT coalesce(sum(duration_seconds) FILTER (WHERE ended_at IS NOT NULL
                                                    AND local_date = :today), 0) AS today_s,
      coalesce(sum(duration_seconds) FILTER (WHERE ended_at IS NOT NULL), 0) / 60 AS minutes,
      max(extract(epoch FROM (CAST(:now AS timestamptz) - started_at)))
        FILTER (WHERE ended_at IS NULL) AS running_s
    FROM study_sessions WHERE user_id = :u
    """
)
_RECOMMENDATIONS = text(
    """
    SELECT id, recommendation_type, reason_code, message, reference_id, priority_score, expires_at
    FROM user_recommendations
    WHERE user_id = :u AND dismissed_at IS NULL AND expires_at > :now
    ORDER BY priority_score DESC, generated_at DESC LIMIT :limit
    """
)
_NEXT_ACHIEVEMENTS = text(
    """
    SELECT a.id, a.title, a.description, a.badge_icon, a.criteria_type, a.criteria_value
    FROM achievements a
    WHERE a.is_active AND NOT EXISTS (
      SELECT 1 FROM user_achievements ua WHERE ua.user_id = :u AND ua.achievement_id = a.id)
    ORDER BY a.criteria_value, a.code
    """
)


@dataclass(frozen=True)
class Level:
    level: int
    xp_into_level: int
    xp_for_next: int


def level_of(total_xp: int) -> Level:
    level = 1 + math.isqrt(max(0, total_xp) // XP_PER_LEVEL)
    start = XP_PER_LEVEL * (level - 1) ** 2
    return Level(level, total_xp - start, XP_PER_LEVEL * level**2 - start)


def _next_achievement(
    definitions: list[dict[str, Any]], reached: dict[str, int]
) -> dict[str, Any] | None:
    """The pending definition closest to done, by the share of its target already reached."""
    best: tuple[float, dict[str, Any]] | None = None
    for definition in definitions:
        have = reached.get(definition["criteria_type"], 0)
        share = min(1.0, have / definition["criteria_value"])
        if best is None or share > best[0]:
            best = (share, {**definition, "current_value": have})
    return None if best is None else best[1]


async def dashboard(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, recommendations: int = 3
) -> dict[str, Any]:
    profile = (await session.execute(_PROFILE, {"u": user_id})).mappings().one()
    zone = validate_zone(profile["timezone"] or "UTC")
    today: date = local_date(now, zone)
    ledger = dict(
        (await session.execute(_LEDGER, {"u": user_id, "today": today, "week": _week_instant(now)}))
        .mappings()
        .one()
    )
    timer = (
        (await session.execute(_TIMER, {"u": user_id, "today": today, "now": now})).mappings().one()
    )
    streak = streaks.Streak(
        profile["current_streak"] or 0, profile["longest_streak"] or 0, profile["last_study_date"]
    )
    reached = {key: int(value) for key, value in ledger.items()}
    reached |= {"study_minutes": int(timer["minutes"]), "streak_days": streak.longest}
    picks = (
        await session.execute(
            _RECOMMENDATIONS, {"u": user_id, "now": now, "limit": recommendations}
        )
    ).mappings()
    pending = (await session.execute(_NEXT_ACHIEVEMENTS, {"u": user_id})).mappings()
    _, day_end = local_day_bounds(today, zone)
    return {
        "timezone": zone.key,
        "local_date": today,
        "streak": {
            "current": streaks.shown(streak, today, int(profile["freezes"])),
            "longest": streak.longest,
            "last_study_date": streak.last_day,
            "freezes_available": profile["freezes"],
            "today_counted": streak.last_day == today,
            "seconds_left_today": int((day_end - now).total_seconds()),
        },
        "goal": _goal(profile, ledger, timer),
        "xp": {
            "total": reached["total_xp"],
            "this_week": reached["week_xp"],
            "today": reached["today_xp"],
            **level_of(reached["total_xp"]).__dict__,
        },
        "next_achievement": _next_achievement([dict(p) for p in pending], reached),
        "recommendations": [dict(r) for r in picks],
    }


def _week_instant(now: datetime) -> datetime:
    return datetime.combine(week_start(now), time(), tzinfo=UTC)


def _goal(profile: Any, ledger: dict[str, Any], timer: Any) -> dict[str, Any]:
    studied = int(timer["today_s"]) + int(timer["running_s"] or 0)
    if profile["goal_type"] == "minutes":
        target = int(profile["goal_minutes"])
        return {
            "type": "minutes",
            "target": target,
            "progress": studied // 60,
            "met": int(timer["today_s"]) >= target * 60,
        }
    done = int(ledger["today_activities"])
    return {"type": "activity", "target": 1, "progress": min(done, 1), "met": done > 0}
