"""Gathering a learner's state for the recommendation rules: their streak and day (progress),
due cards (study), the next lesson (courses) and their last tutor (scheduling). This module
calls those domains, so the progress service package does not import it (study and courses
import progress); events reach it through a job (``progress.jobs``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.courses import service as courses
from studyhall.kit.timezones import local_date, local_day_bounds, validate_zone
from studyhall.progress.service import recommendations, streaks
from studyhall.scheduling import service as scheduling
from studyhall.study import service as study

DUE_CARDS_COUNTED = 100


async def _next_lesson(
    session: AsyncSession, user_id: uuid.UUID
) -> recommendations.NextLesson | None:
    for course_id, title, total, done in await courses.progress_summaries(session, user_id):
        if done < total:
            return recommendations.NextLesson(course_id, title, done + 1)
    return None


async def _last_tutor(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> recommendations.LastTutor | None:
    found = await scheduling.last_tutor_not_rebooked(session, user_id, now)
    if found is None:
        return None
    return recommendations.LastTutor(found.tutor_id, found.name, found.last_session_ended_at)


async def state(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> recommendations.State:
    profile, zone_name = await streaks.lock_profile_and_zone(session, user_id)
    zone = validate_zone(zone_name)
    today = local_date(now, zone)
    streak = streaks.Streak(profile.current_streak, profile.longest_streak, profile.last_study_date)
    due = await study.due_cards(session, user_id, now, DUE_CARDS_COUNTED)
    return recommendations.State(
        now=now,
        day_ends_at=local_day_bounds(today, zone)[1],
        streak=streaks.shown(streak, today, profile.freezes_available),
        today_counted=profile.last_study_date == today,
        due_cards=len(due),
        weakest=await recommendations.weakest_concept(session, user_id),
        next_lesson=await _next_lesson(session, user_id),
        last_tutor=await _last_tutor(session, user_id, now),
    )


async def refresh(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> list[recommendations.Recommendation]:
    found = recommendations.rules(await state(session, user_id, now))
    await recommendations.store(session, user_id, found, now)
    return found
