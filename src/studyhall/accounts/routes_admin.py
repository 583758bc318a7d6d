"""Accounts HTTP for admins: users, suspension, tutor verification, new admins."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from studyhall.accounts import admin
from studyhall.accounts.deps import Admin
from studyhall.accounts.schemas import (
    AdminCreate,
    AdminUserRead,
    Suspension,
    TutorProfileRead,
    UserPage,
    VerificationDecision,
)
from studyhall.db.deps import Session

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", summary="Find users by email or name, newest first")
async def list_users(
    actor: Admin,
    session: Session,
    q: Annotated[str | None, Query(min_length=1, max_length=254)] = None,
    role: Literal["student", "tutor", "admin"] | None = None,
    status_: Annotated[
        Literal["active", "suspended", "deleted"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> UserPage:
    rows, next_cursor = await admin.list_users(
        session, q=q, role=role, status=status_, limit=limit, cursor=cursor
    )
    return UserPage(items=[AdminUserRead.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post("/users/{user_id}/suspend", summary="Suspend a user; their sessions end at once")
async def suspend_user(
    user_id: uuid.UUID, data: Suspension, actor: Admin, session: Session
) -> AdminUserRead:
    return AdminUserRead.model_validate(await admin.suspend(session, actor, user_id, data.reason))


@router.post("/users/{user_id}/restore", summary="Lift a suspension")
async def restore_user(user_id: uuid.UUID, actor: Admin, session: Session) -> AdminUserRead:
    return AdminUserRead.model_validate(await admin.restore(session, actor, user_id))


@router.post("/tutors/{user_id}/verify", summary="Mark a tutor verified")
async def verify_tutor(
    user_id: uuid.UUID, actor: Admin, session: Session, data: VerificationDecision | None = None
) -> TutorProfileRead:
    profile = await admin.set_tutor_verification(
        session, actor, user_id, "verified", data.reason if data else None
    )
    return TutorProfileRead.model_validate(profile)


@router.post("/tutors/{user_id}/reject", summary="Mark a tutor rejected")
async def reject_tutor(
    user_id: uuid.UUID, actor: Admin, session: Session, data: VerificationDecision | None = None
) -> TutorProfileRead:
    profile = await admin.set_tutor_verification(
        session, actor, user_id, "rejected", data.reason if data else None
    )
    return TutorProfileRead.model_validate(profile)


@router.post("/admins", status_code=status.HTTP_201_CREATED, summary="Create another admin")
async def create_admin(data: AdminCreate, actor: Admin, session: Session) -> AdminUserRead:
    user = await admin.create_admin(
        session,
        actor.id,
        email=data.email,
        name=data.name,
        password=data.password,
        timezone=data.timezone,
    )
    return AdminUserRead.model_validate(user)
