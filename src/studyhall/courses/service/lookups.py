"""What every part of the courses domain shares: who may edit, lookups that 404, trusted mode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.courses.models import Course, CourseSection, Lesson
from studyhall.kit.errors import Conflict, Forbidden, NotFound

T = TypeVar("T")

PUBLISHED_LESSON = ("public", "preview")


def now() -> datetime:
    return datetime.now(UTC)


async def trusted(session: AsyncSession) -> None:
    """Admin and system paths read and write other people's purchases and access rows, which
    row level security hides from the API role unless the transaction says it is trusted."""
    await session.execute(text("SELECT set_config('app.bypass_rls', 'on', true)"))


def can_edit(user: User | None, course: Course) -> bool:
    if user is None:
        return False
    return user.role == "admin" or (user.role == "tutor" and course.author_id == user.id)


def require_editor(user: User, course: Course) -> None:
    if not can_edit(user, course):
        raise Forbidden(
            "Only the course's author or an admin may change it.", code="not_course_author"
        )


KEY_SHARE = {"key_share": True}


async def get_or_404(
    session: AsyncSession,
    model: type[T],
    row_id: uuid.UUID,
    what: str,
    *,
    lock: bool = False,
    key_share: bool = False,
) -> T:
    """``lock`` takes the row for update. ``key_share`` only keeps it from being deleted until
    commit: a row about to be referenced cannot vanish between this read and the insert whose
    foreign key points at it (which would otherwise surface as an integrity error)."""
    row = await session.get(model, row_id, with_for_update=KEY_SHARE if key_share else lock)
    if row is None:
        raise NotFound(f"No {what.replace('_', ' ')} with id {row_id}.", code=f"{what}_not_found")
    return row


async def course_of_section(session: AsyncSession, section: CourseSection) -> Course:
    return await get_or_404(session, Course, section.course_id, "course")


async def section_and_course(session: AsyncSession, lesson: Lesson) -> tuple[CourseSection, Course]:
    section = await get_or_404(session, CourseSection, lesson.section_id, "section")
    return section, await course_of_section(session, section)


def constraint_name(exc: IntegrityError) -> str | None:
    diag: Any = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


async def flush_unique(session: AsyncSession, constraint: str, conflict: Conflict) -> None:
    """The application check gives the nice message; this catches the writer that raced past it."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == constraint:
            raise conflict from exc
        raise
