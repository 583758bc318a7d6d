"""Per-learner progress settings: the daily goal and whether one appears on boards."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.progress.models import UserStreak
from studyhall.progress.service.boards import set_listed
from studyhall.progress.service.streaks import lock_profile


async def read(session: AsyncSession, user_id: uuid.UUID) -> UserStreak:
    return await lock_profile(session, user_id)


async def update(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    daily_goal_type: str | None,
    daily_goal_minutes: int | None,
    show_on_leaderboards: bool | None,
) -> UserStreak:
    """A changed goal applies from the next event on: days already counted stay counted."""
    profile = await lock_profile(session, user_id)
    changes = {
        key: value
        for key, value in {
            "daily_goal_type": daily_goal_type,
            "daily_goal_minutes": daily_goal_minutes,
            "show_on_leaderboards": show_on_leaderboards,
        }.items()
        if value is not None and getattr(profile, key) != value
    }
    for key, value in changes.items():
        setattr(profile, key, value)
    await session.flush()
    if "show_on_leaderboards" in changes:
        await set_listed(session, user_id, bool(changes["show_on_leaderboards"]))
    if changes:
        await audit.record(session, user_id, "progress.settings", "user_streaks", user_id, changes)
    return profile
