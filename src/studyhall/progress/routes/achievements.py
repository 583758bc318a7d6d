"""HTTP for achievement definitions (admins edit, everyone reads) and one's own unlocks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from studyhall.accounts.deps import Admin, CurrentUser
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery
from studyhall.progress.schemas import (
    AchievementCreate,
    AchievementPage,
    AchievementRead,
    AchievementUpdate,
)
from studyhall.progress.service import definitions

router = APIRouter()


@router.get("/achievements", summary="List achievements")
async def achievements_list(
    user: CurrentUser, session: Session, page: PageQuery
) -> AchievementPage:
    """Every active achievement (admins also see inactive ones), with when I unlocked each."""
    unlocked = await definitions.unlocked_by(session, user.id)
    rows, cursor = await definitions.listed(session, page, include_inactive=user.role == "admin")
    items = [
        AchievementRead.model_validate(a).model_copy(update={"unlocked_at": unlocked.get(a.id)})
        for a in rows
    ]
    return AchievementPage(items=items, next_cursor=cursor)


@router.post(
    "/admin/achievements",
    status_code=status.HTTP_201_CREATED,
    summary="Define an achievement",
)
async def achievement_create(
    body: AchievementCreate, admin: Admin, session: Session
) -> AchievementRead:
    """Admins only. Learners who already reach the target are awarded it by a job soon after."""
    created = await definitions.create(session, admin, body.model_dump())
    return AchievementRead.model_validate(created)


@router.patch("/admin/achievements/{achievement_id}", summary="Change an achievement")
async def achievement_update(
    achievement_id: uuid.UUID, body: AchievementUpdate, admin: Admin, session: Session
) -> AchievementRead:
    """Admins only. Unlocks already made stay; a target made easier is awarded by a job to
    learners who now reach it."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    updated = await definitions.update(session, admin, achievement_id, changes)
    return AchievementRead.model_validate(updated)
