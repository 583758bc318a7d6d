"""The progress API, mounted under ``/api/v1``: the study timer, settings and the dashboard."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import CurrentUser
from studyhall.courses import service as courses
from studyhall.db.deps import Session
from studyhall.progress.config import get_config
from studyhall.progress.schemas import (
    ContinueLearning,
    DashboardRead,
    Recommended,
    SettingsRead,
    SettingsUpdate,
    SettingsWithFreezes,
    StudySessionRead,
    dashboard_read,
)
from studyhall.progress.service import dashboard as dashboards
from studyhall.progress.service import (
    freezes,
    guardians,
    preferences,
    recommendations,
    refresh,
    timer,
)
from studyhall.progress.service.access import across_learners
from studyhall.study import service as study

router = APIRouter(tags=["progress"])
# The dashboard shows "N cards due" up to this many.
DUE_CARDS_SHOWN = 100


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "/study-sessions",
    status_code=status.HTTP_201_CREATED,
    summary="Start the study timer (one running session per learner)",
)
async def start_session(user: CurrentUser, session: Session) -> StudySessionRead:
    row = await timer.start(session, user.id, _now(), get_config())
    return StudySessionRead.model_validate(row)


@router.post("/study-sessions/current/heartbeat", summary="Keep the running timer alive")
async def heartbeat(user: CurrentUser, session: Session) -> StudySessionRead:
    return StudySessionRead.model_validate(
        await timer.heartbeat(session, user.id, _now(), get_config())
    )


@router.post("/study-sessions/current/stop", summary="Stop the running timer")
async def stop_session(user: CurrentUser, session: Session) -> StudySessionRead:
    return StudySessionRead.model_validate(await timer.stop(session, user.id, _now(), get_config()))


@router.get("/study-sessions", summary="My recent study sessions, newest first")
async def list_sessions(
    user: CurrentUser, session: Session, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[StudySessionRead]:
    rows = await timer.recent(session, user.id, limit)
    return [StudySessionRead.model_validate(row) for row in rows]


@router.get("/me/progress/settings", summary="My daily goal and board privacy")
async def read_settings(user: CurrentUser, session: Session) -> SettingsRead:
    return SettingsRead.model_validate(await preferences.read(session, user.id))


@router.patch("/me/progress/settings", summary="Change my daily goal or board privacy")
async def update_settings(
    body: SettingsUpdate, user: CurrentUser, session: Session
) -> SettingsRead:
    profile = await preferences.update(
        session,
        user.id,
        daily_goal_type=body.daily_goal_type,
        daily_goal_minutes=body.daily_goal_minutes,
        show_on_leaderboards=body.show_on_leaderboards,
    )
    return SettingsRead.model_validate(profile)


@router.post(
    "/me/streak-freezes",
    status_code=status.HTTP_201_CREATED,
    summary="Buy a streak freeze with XP",
)
async def buy_freeze(user: CurrentUser, session: Session) -> SettingsWithFreezes:
    profile = await freezes.buy(session, user.id, _now())
    return SettingsWithFreezes.model_validate(profile)


async def _continue_learning(session: AsyncSession, user_id: uuid.UUID) -> ContinueLearning | None:
    for course_id, title, total, done in await courses.progress_summaries(session, user_id):
        if done < total:
            return ContinueLearning(
                course_id=course_id, course_title=title, lessons_completed=done, lessons_total=total
            )
    return None


@router.post(
    "/me/recommendations/refresh", summary="Recompute my recommendations now (also done by a job)"
)
async def refresh_recommendations(user: CurrentUser, session: Session) -> list[Recommended]:
    found = await refresh.refresh(session, user.id, _now())
    return [Recommended.model_validate(asdict(r)) for r in found]


@router.post(
    "/me/recommendations/{recommendation_id}/dismiss",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Dismiss a recommendation until it changes or expires",
)
async def dismiss_recommendation(
    recommendation_id: uuid.UUID, user: CurrentUser, session: Session
) -> Response:
    await recommendations.dismiss(session, user.id, recommendation_id, _now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _dashboard(session: AsyncSession, user_id: uuid.UUID) -> DashboardRead:
    now = _now()
    body = await dashboards.dashboard(session, user_id, now)
    due = await study.due_cards(session, user_id, now, DUE_CARDS_SHOWN)
    return dashboard_read(user_id, body, len(due), await _continue_learning(session, user_id))


@router.get("/me/progress", summary="My progress dashboard: streak, goal, XP, what next")
async def my_progress(user: CurrentUser, session: Session) -> DashboardRead:
    return await _dashboard(session, user.id)


@router.get(
    "/guardian/wards/{ward_id}/progress",
    summary="A ward's progress dashboard, for the guardian whose consent stands",
)
async def ward_progress(ward_id: uuid.UUID, user: CurrentUser, session: Session) -> DashboardRead:
    await guardians.require_guardian(session, user, ward_id)
    async with across_learners(session):
        return await _dashboard(session, ward_id)
