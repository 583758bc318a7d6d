"""The progress API, mounted under ``/api/v1``: the study timer, settings and the dashboard."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.deps import CurrentUser
from studyhall.courses import service as courses
from studyhall.db.deps import Session
from studyhall.db.rls import cross_users
from studyhall.kit.paging import PageQuery
from studyhall.progress.config import get_config
from studyhall.progress.schemas import (
    ContinueLearning,
    DashboardRead,
    Recommended,
    SettingsRead,
    SettingsUpdate,
    SettingsWithFreezes,
    StudySessionPage,
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

router = APIRouter()
# The dashboard shows "N cards due" up to this many.
DUE_CARDS_SHOWN = 100


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "/study-sessions",
    status_code=status.HTTP_201_CREATED,
    summary="Start the study timer",
)
async def study_session_start(user: CurrentUser, session: Session) -> StudySessionRead:
    """One running session per learner (409 while one runs). Keep it alive with heartbeats;
    one silent for longer than the idle time is closed by a job."""
    row = await timer.start(session, user.id, _now(), get_config())
    return StudySessionRead.model_validate(row)


@router.post("/study-sessions/current/heartbeat", summary="Keep the study timer running")
async def study_session_heartbeat(user: CurrentUser, session: Session) -> StudySessionRead:
    """Tells the server the learner is still studying."""
    return StudySessionRead.model_validate(
        await timer.heartbeat(session, user.id, _now(), get_config())
    )


@router.post("/study-sessions/current/stop", summary="Stop the study timer")
async def study_session_stop(user: CurrentUser, session: Session) -> StudySessionRead:
    """Closes the running session; its minutes count for the day it began and earn XP."""
    return StudySessionRead.model_validate(await timer.stop(session, user.id, _now(), get_config()))


@router.get("/study-sessions", summary="List my study sessions")
async def study_sessions_list(
    user: CurrentUser, session: Session, page: PageQuery
) -> StudySessionPage:
    """My study sessions, newest first."""
    rows, cursor = await timer.recent(session, user.id, page)
    items = [StudySessionRead.model_validate(row) for row in rows]
    return StudySessionPage(items=items, next_cursor=cursor)


@router.get("/me/progress/settings", summary="Get my progress settings")
async def progress_settings_get(user: CurrentUser, session: Session) -> SettingsRead:
    """My daily goal and whether I appear on leaderboards."""
    return SettingsRead.model_validate(await preferences.read(session, user.id))


@router.patch("/me/progress/settings", summary="Change my progress settings")
async def progress_settings_update(
    body: SettingsUpdate, user: CurrentUser, session: Session
) -> SettingsRead:
    """My daily goal (minutes or XP) or whether I appear on leaderboards."""
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
    summary="Buy a streak freeze",
)
async def streak_freeze_create(user: CurrentUser, session: Session) -> SettingsWithFreezes:
    """Paid with XP; a freeze keeps the streak over one day without study."""
    profile = await freezes.buy(session, user.id, _now())
    return SettingsWithFreezes.model_validate(profile)


async def _continue_learning(session: AsyncSession, user_id: uuid.UUID) -> ContinueLearning | None:
    for course_id, title, total, done in await courses.progress_summaries(session, user_id):
        if done < total:
            return ContinueLearning(
                course_id=course_id, course_title=title, lessons_completed=done, lessons_total=total
            )
    return None


@router.post("/me/recommendations/refresh", summary="Recompute my recommendations")
async def recommendations_refresh(user: CurrentUser, session: Session) -> list[Recommended]:
    """Recomputes what to study next now (a job also does it) and answers the new list."""
    found = await refresh.refresh(session, user.id, _now())
    return [Recommended.model_validate(asdict(r)) for r in found]


@router.post(
    "/me/recommendations/{recommendation_id}/dismiss",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Dismiss a recommendation",
)
async def recommendation_dismiss(
    recommendation_id: uuid.UUID, user: CurrentUser, session: Session
) -> Response:
    """Hidden until it changes or expires."""
    await recommendations.dismiss(session, user.id, recommendation_id, _now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _dashboard(session: AsyncSession, user_id: uuid.UUID) -> DashboardRead:
    now = _now()
    body = await dashboards.dashboard(session, user_id, now, due_shown=DUE_CARDS_SHOWN)
    continuing = await _continue_learning(session, user_id)
    return dashboard_read(user_id, body, body["due_cards"], continuing)


@router.get("/me/progress", summary="Get my progress dashboard")
async def progress_dashboard_get(user: CurrentUser, session: Session) -> DashboardRead:
    """Streak, today's goal, XP, cards due, the course to continue and what to study next."""
    return await _dashboard(session, user.id)


@router.get(
    "/guardian/wards/{ward_id}/progress",
    summary="Get a ward's progress dashboard",
)
async def ward_progress_get(
    ward_id: uuid.UUID, user: CurrentUser, session: Session
) -> DashboardRead:
    """For the guardian named by the ward's standing consent; 404 ``ward_not_found`` for anyone
    else, whether the ward exists or not."""
    # The guardian reads the ward's rows: this request acts across users from its start, and the
    # guardian check below is what admits the caller.
    await cross_users(session)
    await guardians.require_guardian(session, user, ward_id)
    return await _dashboard(session, ward_id)
