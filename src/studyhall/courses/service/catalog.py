"""Courses: authoring, catalogue browsing and the outline each caller may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses.models import Course, CourseAccess, CourseProduct, CourseSection, Lesson
from studyhall.courses.schemas import CourseCreate, CourseUpdate
from studyhall.courses.service.constraints import constraint_name
from studyhall.courses.service.lookups import get_or_404
from studyhall.courses.service.permissions import PUBLISHED_LESSON, can_edit, require_editor
from studyhall.kit.errors import Conflict, Forbidden
from studyhall.kit.paging import PageRequest, after


@dataclass
class Outline:
    course: Course
    sections: list[tuple[CourseSection, list[Lesson]]]
    can_edit: bool
    has_access: bool


async def create_course(session: AsyncSession, user: User, data: CourseCreate) -> Course:
    # Admin courses are platform courses (no author); a tutor's course is theirs to edit.
    author_id = user.id if user.role == "tutor" else None
    course = Course(title=data.title, description=data.description, author_id=author_id)
    session.add(course)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "course.create",
        "course",
        course.id,
        {**data.model_dump(), "author_id": author_id},
    )
    return course


async def update_course(
    session: AsyncSession, user: User, course_id: uuid.UUID, data: CourseUpdate
) -> Course:
    course = await get_or_404(session, Course, course_id, "course", lock=True)
    require_editor(user, course)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    before = {key: getattr(course, key) for key in changes}
    for key, value in changes.items():
        setattr(course, key, value)
    await session.flush()
    await audit.record(
        session, user.id, "course.update", "course", course.id, audit.changes(before, changes)
    )
    return course


def _linked_to_products() -> Conflict:
    return Conflict(
        "The course is sold in one or more products; remove it from them before deleting it.",
        code="course_linked_to_products",
    )


async def delete_course(session: AsyncSession, user: User, course_id: uuid.UUID) -> None:
    """Refused (409) while products sell the course; its sections and lessons go with it."""
    course = await get_or_404(session, Course, course_id, "course", lock=True)
    require_editor(user, course)
    if await session.scalar(select(exists().where(CourseProduct.course_id == course.id))):
        raise _linked_to_products()
    await session.delete(course)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A product link committed between the check and the delete.
        if constraint_name(exc) == "fk_course_products_course_id_courses":
            raise _linked_to_products() from exc
        raise
    await audit.record(
        session, user.id, "course.delete", "course", course_id, {"title": course.title}
    )


async def set_featured(
    session: AsyncSession, user: User, course_id: uuid.UUID, featured: bool, now: datetime
) -> Course:
    """Admins feature a course in the catalogue (or stop featuring it); audited."""
    if user.role != "admin":
        raise Forbidden("Only admins feature courses.", code="role_required")
    course = await get_or_404(session, Course, course_id, "course", lock=True)
    was = course.featured_at is not None
    if was != featured:
        course.featured_at = now if featured else None
        await session.flush()
        action = "course.feature" if featured else "course.unfeature"
        await audit.record(session, user.id, action, "course", course.id, {"title": course.title})
    return course


async def featured_courses(session: AsyncSession, limit: int) -> list[Course]:
    """The featured courses, the most recently featured first."""
    query = (
        select(Course)
        .where(Course.featured_at.is_not(None))
        .order_by(Course.featured_at.desc(), Course.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


# --- catalogue ------------------------------------------------------------------------------


async def browse(
    session: AsyncSession, page: PageRequest, *, author_id: uuid.UUID | None
) -> tuple[list[Course], str | None]:
    """Keyset pages, newest first: page 500 costs what page 1 costs (index on created_at, id)."""
    order = (Course.created_at.expression, Course.id.expression)
    query = select(Course).order_by(*(c.desc() for c in order)).limit(page.limit + 1)
    beyond = after(order, page.key(datetime, uuid.UUID), descending=True)
    if beyond is not None:
        query = query.where(beyond)
    if author_id is not None:
        query = query.where(Course.author_id == author_id)
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda course: (course.created_at, course.id))


def has_access_query(user_id: uuid.UUID, course_id: uuid.UUID) -> Select[bool]:
    """Whether the user holds live (not revoked) access to the course, served by the partial
    index on (user_id, course_id)."""
    return select(
        exists().where(
            CourseAccess.user_id == user_id,
            CourseAccess.course_id == course_id,
            CourseAccess.revoked_at.is_(None),
        )
    )


async def has_access(session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    return bool(await session.scalar(has_access_query(user_id, course_id)))


async def outline(session: AsyncSession, user: User | None, course_id: uuid.UUID) -> Outline:
    course = await get_or_404(session, Course, course_id, "course")
    editor = can_edit(user, course)
    sections_query = (
        select(CourseSection)
        .where(CourseSection.course_id == course.id)
        .order_by(CourseSection.position)
    )
    lessons_query = (
        select(Lesson)
        .join(CourseSection, CourseSection.id == Lesson.section_id)
        .where(CourseSection.course_id == course.id)
        .order_by(Lesson.position)
    )
    if not editor:
        sections_query = sections_query.where(CourseSection.status == "public")
        lessons_query = lessons_query.where(Lesson.status.in_(PUBLISHED_LESSON))
    sections = list((await session.scalars(sections_query)).all())
    by_section: dict[uuid.UUID, list[Lesson]] = {section.id: [] for section in sections}
    for lesson in (await session.scalars(lessons_query)).all():
        if lesson.section_id in by_section:
            by_section[lesson.section_id].append(lesson)
    access = editor or (user is not None and await has_access(session, user.id, course.id))
    return Outline(
        course, [(section, by_section[section.id]) for section in sections], editor, access
    )
