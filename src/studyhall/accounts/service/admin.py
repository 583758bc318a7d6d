"""Admin rules: find users, suspend and restore, verify tutors, create admins (no HTTP here)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import TutorProfile, User
from studyhall.accounts.service import closures, security
from studyhall.accounts.service.users import end_all_sessions, get_user
from studyhall.audit import service as audit
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest, after


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_users(
    session: AsyncSession,
    *,
    q: str | None,
    role: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[User], str | None]:
    """Newest first; ``q`` matches email or name anywhere (case-insensitive)."""
    query = select(User)
    if q:
        pattern = f"%{_escape_like(q)}%"
        query = query.where(or_(User.email.ilike(pattern), User.name.ilike(pattern)))
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    page = PageRequest(limit=limit, cursor=cursor)
    condition = after(
        [User.created_at.expression, User.id.expression],
        page.key(datetime, uuid.UUID),
        descending=True,
    )
    if condition is not None:
        query = query.where(condition)
    rows = await session.scalars(
        query.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)
    )
    return page.of(rows.all(), lambda user: (user.created_at, user.id))


async def _target(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def suspend(session: AsyncSession, admin: User, user_id: uuid.UUID, reason: str) -> User:
    """Suspension ends every session of the user at once; what they sell is wound down after
    it commits (a tutor's future bookings are canceled and refunded in full)."""
    if user_id == admin.id:
        raise Conflict("Admins cannot suspend themselves.", code="cannot_suspend_self")
    user = await _target(session, user_id)
    if user.status == "suspended":
        raise Conflict("This user is already suspended.", code="already_suspended")
    user.status = "suspended"
    await end_all_sessions(session, user.id)
    await closures.account_closed(session, user.id, "suspended")
    await audit.record(
        session,
        admin.id,
        "user.suspend",
        "user",
        user.id,
        {"status": ["active", "suspended"], "reason": reason},
    )
    await session.refresh(user)
    return user


async def restore(session: AsyncSession, admin: User, user_id: uuid.UUID) -> User:
    user = await _target(session, user_id)
    if user.status != "suspended":
        raise Conflict("Only a suspended user can be restored.", code="not_suspended")
    user.status = "active"
    await audit.record(
        session, admin.id, "user.restore", "user", user.id, {"status": ["suspended", "active"]}
    )
    await session.flush()
    await session.refresh(user)
    return user


async def set_tutor_verification(
    session: AsyncSession, admin: User, tutor_user_id: uuid.UUID, decision: str, reason: str | None
) -> TutorProfile:
    profile = await session.scalar(
        select(TutorProfile)
        .where(TutorProfile.user_id == tutor_user_id, TutorProfile.deleted_at.is_(None))
        .with_for_update()
    )
    if profile is None:
        raise NotFound("No such tutor.", code="tutor_not_found")
    before = profile.verification_status
    if before == decision:
        raise Conflict(f"This tutor is already {decision}.", code=f"already_{decision}")
    profile.verification_status = decision
    await session.flush()
    await session.refresh(profile)
    await audit.record(
        session,
        admin.id,
        {"verified": "tutor_profile.verify", "rejected": "tutor_profile.reject"}[decision],
        "tutor_profile",
        profile.id,
        {"verification_status": [before, decision], "reason": reason},
    )
    return profile


async def create_admin(
    session: AsyncSession,
    actor: uuid.UUID | None,
    *,
    email: str,
    name: str,
    password: str,
    timezone: str = "UTC",
) -> User:
    """``actor`` None: the CLI (``studyhall admin create``)."""
    if problem := security.password_problem(password):
        raise Unprocessable(problem, code="weak_password", field="password")
    user_id = await session.scalar(
        insert(User)
        .values(
            email=email,
            password_hash=await security.hash_password_async(password),
            auth_provider="password",
            name=name,
            role="admin",
            timezone=timezone,
            is_verified=True,
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(User.id)
    )
    if user_id is None:
        raise Conflict("An account with this email already exists.", code="email_taken")
    await audit.record(session, actor, "user.create_admin", "user", user_id, {"email": email})
    return await get_user(session, user_id)
