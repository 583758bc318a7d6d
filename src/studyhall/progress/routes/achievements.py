"""HTTP for achievement definitions (admins edit, everyone reads) and one's own unlocks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from studyhall.accounts.deps import Admin, CurrentUser
from studyhall.db.deps import Session
from studyhall.progress.schemas import AchievementCreate, AchievementRead, AchievementUpdate
from studyhall.progress.service import definitions

router = APIRouter(tags=["progress"])


@router.get("/achievements", summary="Achievements, with when I unlocked each")
async def list_achievements(user: CurrentUser, session: Session) -> list[AchievementRead]:
    unlocked = await definitions.unlocked_by(session, user.id)
    return [
        AchievementRead.model_validate(a).model_copy(update={"unlocked_at": unlocked.get(a.id)})
        for a in await definitions.listed(session, include_inactive=user.role == "admin")
    ]


@router.post(
    "/admin/achievements",
    status_code=status.HTTP_201_CREATED,
    summary="Define an achievement (awarded at once to those who already qualify)",
)
async def create_achievement(
    body: AchievementCreate, admin: Admin, session: Session
) -> AchievementRead:
    created = await definitions.create(session, admin, body.model_dump())
    return AchievementRead.model_validate(created)


@router.patch("/admin/achievements/{achievement_id}", summary="Change an achievement")
async def update_achievement(
    achievement_id: uuid.UUID, body: AchievementUpdate, admin: Admin, session: Session
) -> AchievementRead:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    updated = await definitions.update(session, admin, achievement_id, changes)
    return AchievementRead.model_validate(updated)
