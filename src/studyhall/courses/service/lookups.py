"""Row lookups the courses service shares: a row by id or a 404 with a stable code, and the
course a section or lesson belongs to."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.courses.models import Course, CourseSection, Lesson
from studyhall.kit.errors import NotFound

T = TypeVar("T")

# ``SELECT ... FOR KEY SHARE``: the row cannot be deleted until commit, yet others may still
# update it. Taken on a row about to be referenced by a foreign key.
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
