"""Admin grants: free access to a course, given and taken back by an admin. Access bought
through a purchase is separate and stays when a grant is revoked. The admin's route reads and
writes across users (``db.rls``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses.models import Course, CourseAccess
from studyhall.courses.service.lookups import get_or_404
from studyhall.kit.errors import NotFound, Unprocessable


async def grant_access(
    session: AsyncSession, actor: User, course_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[CourseAccess, bool]:
    """Free access granted by an admin; granting again returns the live grant unchanged."""
    await get_or_404(session, Course, course_id, "course", key_share=True)
    grantee = await session.get(User, user_id)
    if grantee is None or grantee.deleted_at is not None:
        raise Unprocessable(f"No user with id {user_id}.", code="user_not_found")
    inserted = await session.scalar(
        insert(CourseAccess)
        .values(user_id=user_id, course_id=course_id, source="grant", granted_by_user_id=actor.id)
        .on_conflict_do_nothing(
            index_elements=["user_id", "course_id"],
            # A literal predicate: a bound parameter cannot match the partial index once
            # psycopg prepares the statement.
            index_where=text("source = 'grant' AND revoked_at IS NULL"),
        )
        .returning(CourseAccess.id)
    )
    if inserted is not None:
        await audit.record(
            session,
            actor.id,
            "course_access.grant",
            "course_access",
            inserted,
            {"user_id": user_id, "course_id": course_id},
        )
    live = await session.scalar(
        select(CourseAccess).where(
            CourseAccess.user_id == user_id,
            CourseAccess.course_id == course_id,
            CourseAccess.source == "grant",
            CourseAccess.revoked_at.is_(None),
        )
    )
    assert live is not None
    return live, inserted is not None


async def revoke_grant(
    session: AsyncSession, actor: User, course_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Revokes the admin grant only: access bought through a purchase stays."""
    revoked = await session.scalar(
        update(CourseAccess)
        .where(
            CourseAccess.user_id == user_id,
            CourseAccess.course_id == course_id,
            CourseAccess.source == "grant",
            CourseAccess.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
        .returning(CourseAccess.id)
    )
    if revoked is None:
        raise NotFound("That user holds no live grant for the course.", code="grant_not_found")
    await audit.record(
        session,
        actor.id,
        "course_access.revoke",
        "course_access",
        revoked,
        {"user_id": user_id, "course_id": course_id},
    )
