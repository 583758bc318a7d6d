"""Opening lessons, completing them and course progress. Progress is always computed from the
published lessons at read time, so adding, removing or unpublishing a lesson can never leave a
stale or >100 % figure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Uuid, and_, column, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses.events import CourseCompleted, LessonCompleted
from studyhall.courses.models import Course, CourseAccess, CourseSection, Lesson, LessonCompletion
from studyhall.courses.service.catalog import has_access
from studyhall.courses.service.lookups import get_or_404, section_and_course
from studyhall.courses.service.permissions import PUBLISHED_LESSON, can_edit
from studyhall.kit import events
from studyhall.kit.errors import Forbidden, NotFound
from studyhall.kit.paging import PageRequest, after


@dataclass(frozen=True)
class ProgressRow:
    lesson_id: uuid.UUID
    section_id: uuid.UUID
    title: str
    completed_at: datetime | None


@dataclass(frozen=True)
class Progress:
    course_id: uuid.UUID
    rows: list[ProgressRow]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def completed(self) -> int:
        return sum(1 for row in self.rows if row.completed_at is not None)

    @property
    def percent(self) -> float:
        return percent(self.completed, self.total)

    def next_lesson_id(self) -> uuid.UUID | None:
        return next((row.lesson_id for row in self.rows if row.completed_at is None), None)


def percent(completed: int, total: int) -> float:
    return 0.0 if total == 0 else round(completed * 100 / total, 2)


def _is_published(section: CourseSection, lesson: Lesson) -> bool:
    return section.status == "public" and lesson.status in PUBLISHED_LESSON


async def open_lesson(session: AsyncSession, user: User | None, lesson_id: uuid.UUID) -> Lesson:
    """Authors and admins open anything; others see published lessons, and the content of a
    `public` (non-preview) lesson only with access to the course."""
    lesson = await get_or_404(session, Lesson, lesson_id, "lesson")
    section, course = await section_and_course(session, lesson)
    if can_edit(user, course):
        return lesson
    if not _is_published(section, lesson):
        raise NotFound(f"No lesson with id {lesson_id}.", code="lesson_not_found")
    if lesson.status == "preview":
        return lesson
    if user is None or not await has_access(session, user.id, course.id):
        raise Forbidden(
            "This lesson is part of a course you have no access to; buy a product that "
            "includes it or open its preview lessons.",
            code="course_access_required",
            course_id=str(course.id),
        )
    return lesson


async def complete_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> datetime:
    """Idempotent: completing twice keeps the first ``completed_at``."""
    await get_or_404(session, Lesson, lesson_id, "lesson", key_share=True)
    lesson = await open_lesson(session, user, lesson_id)
    inserted = await session.scalar(
        insert(LessonCompletion)
        .values(user_id=user.id, lesson_id=lesson.id)
        .on_conflict_do_nothing(index_elements=["user_id", "lesson_id"])
        .returning(LessonCompletion.completed_at)
    )
    # Every call reports the completion: the ledger pays a lesson once, however often it is
    # completed, uncompleted and completed again, or the request retried.
    await events.emit(session, LessonCompleted(user_id=user.id, lesson_id=lesson.id))
    if inserted is not None:
        await audit.record(session, user.id, "lesson.complete", "lesson", lesson.id)
        await _report_course_completed(session, user.id, lesson)
        completed_at: datetime = inserted
        return completed_at
    existing = await session.scalar(
        select(LessonCompletion.completed_at).where(
            LessonCompletion.user_id == user.id, LessonCompletion.lesson_id == lesson.id
        )
    )
    assert existing is not None
    return existing


async def _report_course_completed(
    session: AsyncSession, user_id: uuid.UUID, lesson: Lesson
) -> None:
    """``CourseCompleted`` once this new completion finishes every published lesson of the
    course. A lesson that is not published (an editor completing a draft) completes nothing."""
    section, course = await section_and_course(session, lesson)
    if not _is_published(section, lesson):
        return
    found = await course_progress(session, user_id, course.id)
    if found.total > 0 and found.completed == found.total:
        await events.emit(session, CourseCompleted(user_id=user_id, course_id=course.id))


async def uncomplete_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> None:
    """Idempotent: uncompleting a lesson that is not complete changes nothing."""
    lesson = await get_or_404(session, Lesson, lesson_id, "lesson")
    removed = await session.scalar(
        delete(LessonCompletion)
        .where(LessonCompletion.user_id == user.id, LessonCompletion.lesson_id == lesson.id)
        .returning(LessonCompletion.id)
    )
    if removed is not None:
        await audit.record(session, user.id, "lesson.uncomplete", "lesson", lesson.id)


def progress_query(
    user_id: uuid.UUID, course_id: uuid.UUID
) -> Select[uuid.UUID, uuid.UUID, str, datetime | None]:
    """A learner's course progress as one query: published lessons in order, LEFT JOIN the
    caller's completions (indexes: sections (course_id, position), lessons (section_id,
    position), completions (user_id, lesson_id))."""
    return (
        select(Lesson.id, Lesson.section_id, Lesson.title, LessonCompletion.completed_at)
        .join(CourseSection, CourseSection.id == Lesson.section_id)
        .outerjoin(
            LessonCompletion,
            and_(LessonCompletion.lesson_id == Lesson.id, LessonCompletion.user_id == user_id),
        )
        .where(
            CourseSection.course_id == course_id,
            CourseSection.status == "public",
            Lesson.status.in_(PUBLISHED_LESSON),
        )
        .order_by(CourseSection.position, Lesson.position)
    )


async def course_progress(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID
) -> Progress:
    await get_or_404(session, Course, course_id, "course")
    rows = (await session.execute(progress_query(user_id, course_id))).all()
    return Progress(course_id, [ProgressRow(*row) for row in rows])


def summaries_query(
    user_id: uuid.UUID, course_ids: list[uuid.UUID] | None = None
) -> Select[uuid.UUID, str, int, int]:
    """Progress of every course the user can access (or of ``course_ids``), one grouped query."""
    accessible = (
        select(CourseAccess.course_id)
        .where(CourseAccess.user_id == user_id, CourseAccess.revoked_at.is_(None))
        .distinct()
    )
    if course_ids is not None:
        accessible = accessible.where(CourseAccess.course_id.in_(course_ids))
    courses = accessible.subquery()
    published = (
        select(Lesson.id.label("lesson_id"), CourseSection.course_id)
        .join(CourseSection, CourseSection.id == Lesson.section_id)
        .where(CourseSection.status == "public", Lesson.status.in_(PUBLISHED_LESSON))
        .subquery()
    )
    return (
        select(
            Course.id,
            Course.title,
            func.count(published.c.lesson_id),
            func.count(LessonCompletion.lesson_id),
        )
        .join(courses, courses.c.course_id == Course.id)
        .outerjoin(published, published.c.course_id == Course.id)
        .outerjoin(
            LessonCompletion,
            and_(
                LessonCompletion.lesson_id == published.c.lesson_id,
                LessonCompletion.user_id == user_id,
            ),
        )
        .group_by(Course.id, Course.title)
        .order_by(Course.title, Course.id)
    )


Summary = tuple[uuid.UUID, str, int, int]


async def progress_summaries(
    session: AsyncSession, user_id: uuid.UUID, course_ids: list[uuid.UUID] | None = None
) -> list[Summary]:
    """(course id, title, published lessons, completed) for every course the user can access
    (or of ``course_ids``), by title."""
    rows = (await session.execute(summaries_query(user_id, course_ids))).all()
    return [(course_id, title, int(total), int(done)) for course_id, title, total, done in rows]


async def progress_summaries_page(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[Summary], str | None]:
    """One page of ``progress_summaries``, keyed on (title, course id)."""
    query = summaries_query(user_id).limit(page.limit + 1)
    beyond = after((Course.title.expression, Course.id.expression), page.key(str, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = [
        (course_id, title, int(total), int(done))
        for course_id, title, total, done in (await session.execute(query)).all()
    ]
    return page.of(rows, lambda row: (row[1], row[0]))


def lesson_material_ids(
    user_id: uuid.UUID, topic_id: uuid.UUID | None = None
) -> Select[tuple[uuid.UUID]]:
    """Ids of the study materials ``user_id`` may read through courses (of lessons tagged
    ``topic_id``, when given): those of every lesson of the courses they author, and of the
    published lessons of courses they hold live access to. Preview lessons of other courses do
    not count: anyone may open them, and they would crowd every learner's study scope.

    The rule is the SQL function ``studyhall_course_materials`` (migration 0010), which row level
    security on ``materials`` and ``material_chunks`` uses too, so the two cannot disagree.
    """
    lessons = func.studyhall_course_materials(user_id).table_valued(
        column("material_id", Uuid), column("topic_id", Uuid)
    )
    query = select(lessons.c.material_id)
    if topic_id is not None:
        query = query.where(lessons.c.topic_id == topic_id)
    return query
