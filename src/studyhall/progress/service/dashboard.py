"""``GET /me/progress`` in one statement: the learner's row and zone, one pass over their ledger
and one over their timer, their recommendations, the pending achievements and the flashcards due.
(The course to continue comes from the courses domain: one more.)"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit.timezones import local_day_bounds, validate_zone
from studyhall.progress.service import streaks
from studyhall.progress.service.entries import week_start

# Level n starts at XP_PER_LEVEL * (n - 1)^2: each level takes a little longer than the last.
XP_PER_LEVEL = 50

# The whole dashboard but the course to continue (courses' own query) in one statement: the
# learner's row and zone (their "today" computed by PostgreSQL in that zone), one pass over their
# ledger and one over their timer sessions (both through the (user, local date) indexes), the top
# recommendations and the pending achievements as JSON, and the flashcards due (study's table,
# counted up to what the dashboard shows). No ORM objects are built.
_DASHBOARD = text(
    """
    WITH p AS (
      SELECT coalesce(u.timezone, 'UTC') AS timezone,
             (CAST(:now AS timestamptz) AT TIME ZONE coalesce(u.timezone, 'UTC'))::date AS today,
             s.current_streak, s.longest_streak, s.last_study_date,
             coalesce(s.daily_goal_type, 'activity') AS goal_type,
             coalesce(s.daily_goal_minutes, 10) AS goal_minutes,
             coalesce(s.freezes_available, 0) AS freezes
      FROM users u LEFT JOIN user_streaks s ON s.user_id = u.id WHERE u.id = :u
    )
    SELECT p.*, l.*, t.*,
      (SELECT coalesce(json_agg(r ORDER BY r.priority_score DESC, r.generated_at DESC), '[]')
       FROM (SELECT id, recommendation_type, reason_code, message, reference_id, priority_score,
                    expires_at, generated_at
             FROM user_recommendations
             WHERE user_id = :u AND dismissed_at IS NULL AND expires_at > :now
             ORDER BY priority_score DESC, generated_at DESC LIMIT :limit) r) AS picks,
      (SELECT coalesce(json_agg(a ORDER BY a.criteria_value, a.code), '[]')
       FROM (SELECT a.id, a.code, a.title, a.description, a.badge_icon, a.criteria_type,
                    a.criteria_value
             FROM achievements a
             WHERE a.is_active AND NOT EXISTS (
               SELECT 1 FROM user_achievements ua
               WHERE ua.user_id = :u AND ua.achievement_id = a.id)) a) AS pending,
      (SELECT count(*) FROM (SELECT 1 FROM flashcards f
                             WHERE f.user_id = :u AND f.deleted_at IS NULL AND f.due_at <= :now
                             LIMIT :due_shown) d) AS due_cards
    FROM p
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(x.xp_amount), 0) AS total_xp,
        coalesce(sum(x.xp_amount) FILTER (WHERE x.created_at >= :week), 0) AS week_xp,
        coalesce(sum(x.xp_amount) FILTER (WHERE x.local_date = p.today), 0) AS today_xp,
        count(*) FILTER (WHERE x.local_date = p.today
                           AND x.source_type IN ('quiz', 'lesson', 'review', 'study'))
          AS today_activities,
        count(*) FILTER (WHERE x.reason = 'quiz_passed') AS quizzes_passed,
        count(*) FILTER (WHERE x.reason = 'lesson_completed') AS lessons_completed,
        count(*) FILTER (WHERE x.reason = 'card_reviewed') AS cards_reviewed,
        count(*) FILTER (WHERE x.reason = 'question_asked') AS questions_asked
      FROM xp_logs x WHERE x.user_id = :u
    ) l
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(ss.duration_seconds) FILTER (WHERE ss.ended_at IS NOT NULL
                                                         AND ss.local_date = p.today), 0)
               AS today_s,
        coalesce(sum(ss.duration_seconds) FILTER (WHERE ss.ended_at IS NOT NULL), 0) / 60
          AS minutes,
        max(extract(epoch FROM (CAST(:now AS timestamptz) - ss.started_at)))
          FILTER (WHERE ss.ended_at IS NULL) AS running_s
      FROM study_sessions ss WHERE ss.user_id = :u
    ) t
    """
)
# The ledger counters an achievement criterion can be measured by.
_LEDGER_COUNTERS = (
    "total_xp",
    "week_xp",
    "today_xp",
    "today_activities",
    "quizzes_passed",
    "lessons_completed",
    "cards_reviewed",
    "questions_asked",
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


def _recommendation(item: dict[str, Any]) -> dict[str, Any]:
    reference = item["reference_id"]
    return {
        "id": uuid.UUID(item["id"]),
        "recommendation_type": item["recommendation_type"],
        "reason_code": item["reason_code"],
        "message": item["message"],
        "reference_id": None if reference is None else uuid.UUID(reference),
        "priority_score": item["priority_score"],
        "expires_at": datetime.fromisoformat(item["expires_at"]),
    }


def _definition(item: dict[str, Any]) -> dict[str, Any]:
    shown = ("title", "description", "badge_icon", "criteria_type", "criteria_value")
    return {"id": uuid.UUID(item["id"]), **{key: item[key] for key in shown}}


async def dashboard(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    recommendations: int = 3,
    due_shown: int = 100,
) -> dict[str, Any]:
    """The learner's dashboard in one statement; ``due_cards`` counts at most ``due_shown``."""
    params = {
        "u": user_id,
        "now": now,
        "week": _week_instant(now),
        "limit": recommendations,
        "due_shown": due_shown,
    }
    row = (await session.execute(_DASHBOARD, params)).mappings().one()
    zone = validate_zone(row["timezone"])
    today: date = row["today"]
    streak = streaks.Streak(
        row["current_streak"] or 0, row["longest_streak"] or 0, row["last_study_date"]
    )
    reached = {key: int(row[key]) for key in _LEDGER_COUNTERS}
    reached |= {"study_minutes": int(row["minutes"]), "streak_days": streak.longest}
    _, day_end = local_day_bounds(today, zone)
    pending = [_definition(item) for item in row["pending"]]
    return {
        "timezone": zone.key,
        "local_date": today,
        "streak": {
            "current": streaks.shown(streak, today, int(row["freezes"])),
            "longest": streak.longest,
            "last_study_date": streak.last_day,
            "freezes_available": row["freezes"],
            "today_counted": streak.last_day == today,
            "seconds_left_today": int((day_end - now).total_seconds()),
        },
        "goal": _goal(row),
        "xp": {
            "total": reached["total_xp"],
            "this_week": reached["week_xp"],
            "today": reached["today_xp"],
            **level_of(reached["total_xp"]).__dict__,
        },
        "next_achievement": _next_achievement(pending, reached),
        "recommendations": [_recommendation(item) for item in row["picks"]],
        "due_cards": int(row["due_cards"]),
    }


def _week_instant(now: datetime) -> datetime:
    return datetime.combine(week_start(now), time(), tzinfo=UTC)


def _goal(row: Any) -> dict[str, Any]:
    studied = int(row["today_s"]) + int(row["running_s"] or 0)
    if row["goal_type"] == "minutes":
        target = int(row["goal_minutes"])
        return {
            "type": "minutes",
            "target": target,
            "progress": studied // 60,
            "met": int(row["today_s"]) >= target * 60,
        }
    done = int(row["today_activities"])
    return {"type": "activity", "target": 1, "progress": min(done, 1), "met": done > 0}
