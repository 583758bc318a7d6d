"""Accounts HTTP for admins: users, suspension, tutor verification, new admins."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from studyhall.accounts.deps import Admin
from studyhall.accounts.schemas import (
    AdminCreate,
    AdminUserRead,
    Suspension,
    TutorProfileRead,
    UserPage,
    VerificationDecision,
)
from studyhall.accounts.service import admin
from studyhall.db.rls import SystemSession
from studyhall.kit.paging import PageQuery

router = APIRouter(prefix="/admin")


@router.get("/users", summary="Find users")
async def users_list(
    actor: Admin,
    session: SystemSession,
    page: PageQuery,
    q: Annotated[str | None, Query(min_length=1, max_length=254)] = None,
    role: Literal["student", "tutor", "admin"] | None = None,
    status_: Annotated[
        Literal["active", "suspended", "deleted"] | None, Query(alias="status")
    ] = None,
) -> UserPage:
    """Users newest first; `q` matches email or name anywhere (case-insensitive), `role` and
    `status` narrow it down."""
    rows, next_cursor = await admin.list_users(
        session, q=q, role=role, status=status_, limit=page.limit, cursor=page.cursor
    )
    return UserPage(items=[AdminUserRead.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post("/users/{user_id}/suspend", summary="Suspend a user")
async def user_suspend(
    user_id: uuid.UUID, data: Suspension, actor: Admin, session: SystemSession
) -> AdminUserRead:
    """Suspends a user with a reason; their sessions end at once and what they had running
    (bookings, a subscription) winds down."""
    return AdminUserRead.model_validate(await admin.suspend(session, actor, user_id, data.reason))


@router.post("/users/{user_id}/restore", summary="Lift a suspension")
async def user_restore(user_id: uuid.UUID, actor: Admin, session: SystemSession) -> AdminUserRead:
    """Lifts a user's suspension; they sign in again to get new sessions."""
    return AdminUserRead.model_validate(await admin.restore(session, actor, user_id))


@router.post("/tutors/{user_id}/verify", summary="Mark a tutor verified")
async def tutor_verify(
    user_id: uuid.UUID,
    actor: Admin,
    session: SystemSession,
    data: VerificationDecision | None = None,
) -> TutorProfileRead:
    """Marks a tutor verified, which lists them in the directory (a reason is optional)."""
    profile = await admin.set_tutor_verification(
        session, actor, user_id, "verified", data.reason if data else None
    )
    return TutorProfileRead.model_validate(profile)


@router.post("/tutors/{user_id}/reject", summary="Mark a tutor rejected")
async def tutor_reject(
    user_id: uuid.UUID,
    actor: Admin,
    session: SystemSession,
    data: VerificationDecision | None = None,
) -> TutorProfileRead:
    """Marks a tutor rejected, which keeps them out of the directory (a reason is optional)."""
    profile = await admin.set_tutor_verification(
        session, actor, user_id, "rejected", data.reason if data else None
    )
    return TutorProfileRead.model_validate(profile)


@router.post("/admins", status_code=status.HTTP_201_CREATED, summary="Create another admin")
async def admins_create(data: AdminCreate, actor: Admin, session: SystemSession) -> AdminUserRead:
    """Creates an admin account with a password."""
    user = await admin.create_admin(
        session,
        actor.id,
        email=data.email,
        name=data.name,
        password=data.password,
        timezone=data.timezone,
    )
    return AdminUserRead.model_validate(user)
