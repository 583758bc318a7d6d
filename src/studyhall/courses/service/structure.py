"""Sections and lessons: authoring and atomic reordering with unique positions."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses.events import LessonMaterialChosen
from studyhall.courses.models import Course, CourseSection, Lesson, Topic
from studyhall.courses.schemas import LessonCreate, LessonUpdate, SectionCreate, SectionUpdate
from studyhall.courses.service.lookups import (
    KEY_SHARE,
    course_of_section,
    get_or_404,
    section_and_course,
)
from studyhall.courses.service.permissions import require_editor
from studyhall.kit import events
from studyhall.kit.errors import Unprocessable


async def _next_position(
    session: AsyncSession, column: Any, parent_column: Any, parent: uuid.UUID
) -> int:
    current = await session.scalar(select(func.max(column)).where(parent_column == parent))
    return int(current or 0) + 1


async def create_section(
    session: AsyncSession, user: User, course_id: uuid.UUID, data: SectionCreate
) -> CourseSection:
    # The course row lock serializes appends, so two sections never draw the same position.
    course = await get_or_404(session, Course, course_id, "course", lock=True)
    require_editor(user, course)
    position = await _next_position(
        session, CourseSection.position, CourseSection.course_id, course.id
    )
    section = CourseSection(
        course_id=course.id, name=data.name, status=data.status, position=position
    )
    session.add(section)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "section.create",
        "course_section",
        section.id,
        {**data.model_dump(), "course_id": course.id, "position": position},
    )
    return section


async def update_section(
    session: AsyncSession, user: User, section_id: uuid.UUID, data: SectionUpdate
) -> CourseSection:
    section = await get_or_404(session, CourseSection, section_id, "section", lock=True)
    require_editor(user, await course_of_section(session, section))
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    before = {key: getattr(section, key) for key in changes}
    for key, value in changes.items():
        setattr(section, key, value)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "section.update",
        "course_section",
        section.id,
        audit.changes(before, changes),
    )
    return section


async def delete_section(session: AsyncSession, user: User, section_id: uuid.UUID) -> None:
    """CASCADE: the section's lessons (and their completions) go with it."""
    section = await get_or_404(session, CourseSection, section_id, "section", lock=True)
    require_editor(user, await course_of_section(session, section))
    await session.delete(section)
    await session.flush()
    await audit.record(
        session, user.id, "section.delete", "course_section", section_id, {"name": section.name}
    )


def _check_permutation(requested: list[uuid.UUID], existing: set[uuid.UUID], what: str) -> None:
    duplicates = sorted(str(i) for i, n in Counter(requested).items() if n > 1)
    if duplicates:
        raise Unprocessable(
            f"Each {what} may appear once; repeated: {', '.join(duplicates)}.",
            code="reorder_duplicate_ids",
            duplicate_ids=duplicates,
        )
    missing = sorted(str(i) for i in existing - set(requested))
    unknown = sorted(str(i) for i in set(requested) - existing)
    if missing or unknown:
        raise Unprocessable(
            f"The new order must list every {what} exactly once "
            f"(missing {len(missing)}, not in this parent {len(unknown)}).",
            code="reorder_ids_mismatch",
            missing_ids=missing,
            unknown_ids=unknown,
        )


async def _renumber(session: AsyncSession, model: Any, ids: list[uuid.UUID]) -> None:
    # One statement; the unique (parent, position) constraint is deferred to commit, so the
    # intermediate states of the permutation do not trip it.
    positions = {row_id: index for index, row_id in enumerate(ids, start=1)}
    await session.execute(
        update(model),
        [{"id": row_id, "position": position} for row_id, position in positions.items()],
    )


async def reorder_sections(
    session: AsyncSession, user: User, course_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[CourseSection]:
    course = await get_or_404(session, Course, course_id, "course", lock=True)
    require_editor(user, course)
    existing = set(
        (
            await session.scalars(
                select(CourseSection.id).where(CourseSection.course_id == course.id)
            )
        ).all()
    )
    _check_permutation(ids, existing, "section")
    await _renumber(session, CourseSection, ids)
    await audit.record(
        session, user.id, "course.reorder_sections", "course", course.id, {"order": ids}
    )
    query = (
        select(CourseSection)
        .where(CourseSection.course_id == course.id)
        .order_by(CourseSection.position)
    )
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())


async def _check_topic(session: AsyncSession, topic_id: uuid.UUID | None) -> None:
    found = None
    if topic_id is not None:
        found = await session.get(Topic, topic_id, with_for_update=KEY_SHARE)
    if topic_id is not None and found is None:
        raise Unprocessable(f"No topic with id {topic_id}.", code="topic_not_found")


async def _check_material(session: AsyncSession, user: User, material_id: uuid.UUID | None) -> None:
    """A lesson may carry only a material its editor owns (admins may attach anyone's), so
    publishing a course never exposes someone else's private upload to its learners. Materials
    belong to study, which sits above courses: it checks the choice in its subscription to
    ``LessonMaterialChosen`` and refuses with a 422 naming ``material_id``."""
    if material_id is None:
        return
    chosen = LessonMaterialChosen(
        user_id=user.id, material_id=material_id, any_owner=user.role == "admin"
    )
    await events.emit(session, chosen)


async def lessons_using_material(session: AsyncSession, material_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(Lesson.id).where(Lesson.material_id == material_id).order_by(Lesson.id)
    return list((await session.scalars(query)).all())


def _lesson_values(data: LessonCreate | LessonUpdate, *, unset: bool) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=unset)
    if values.get("video_url") is not None:
        values["video_url"] = str(values["video_url"])
    return values


async def create_lesson(
    session: AsyncSession, user: User, section_id: uuid.UUID, data: LessonCreate
) -> Lesson:
    section = await get_or_404(session, CourseSection, section_id, "section", lock=True)
    require_editor(user, await course_of_section(session, section))
    await _check_topic(session, data.topic_id)
    await _check_material(session, user, data.material_id)
    position = await _next_position(session, Lesson.position, Lesson.section_id, section.id)
    values = _lesson_values(data, unset=False)
    lesson = Lesson(section_id=section.id, position=position, **values)
    session.add(lesson)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "lesson.create",
        "lesson",
        lesson.id,
        {**values, "section_id": section.id, "position": position},
    )
    return lesson


def _check_content(lesson: Lesson) -> None:
    if lesson.content_type == "video" and lesson.video_url is None:
        raise Unprocessable("A video lesson needs video_url.", code="lesson_content_mismatch")
    if lesson.content_type == "pdf" and lesson.material_id is None:
        raise Unprocessable("A pdf lesson needs material_id.", code="lesson_content_mismatch")


async def update_lesson(
    session: AsyncSession, user: User, lesson_id: uuid.UUID, data: LessonUpdate
) -> Lesson:
    lesson = await get_or_404(session, Lesson, lesson_id, "lesson", lock=True)
    _, course = await section_and_course(session, lesson)
    require_editor(user, course)
    changes = _lesson_values(data, unset=True)
    if "topic_id" in changes:
        await _check_topic(session, changes["topic_id"])
    if changes.get("material_id") not in (None, lesson.material_id):
        await _check_material(session, user, changes["material_id"])
    before = {key: getattr(lesson, key) for key in changes}
    for key, value in changes.items():
        setattr(lesson, key, value)
    _check_content(lesson)
    await session.flush()
    await audit.record(
        session, user.id, "lesson.update", "lesson", lesson.id, audit.changes(before, changes)
    )
    return lesson


async def delete_lesson(session: AsyncSession, user: User, lesson_id: uuid.UUID) -> None:
    """CASCADE: completions of the lesson go too, and progress is recomputed on read."""
    lesson = await get_or_404(session, Lesson, lesson_id, "lesson", lock=True)
    _, course = await section_and_course(session, lesson)
    require_editor(user, course)
    await session.delete(lesson)
    await session.flush()
    await audit.record(
        session, user.id, "lesson.delete", "lesson", lesson_id, {"title": lesson.title}
    )


async def reorder_lessons(
    session: AsyncSession, user: User, section_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[Lesson]:
    section = await get_or_404(session, CourseSection, section_id, "section", lock=True)
    require_editor(user, await course_of_section(session, section))
    existing = set(
        (await session.scalars(select(Lesson.id).where(Lesson.section_id == section.id))).all()
    )
    _check_permutation(ids, existing, "lesson")
    await _renumber(session, Lesson, ids)
    await audit.record(
        session, user.id, "section.reorder_lessons", "course_section", section.id, {"order": ids}
    )
    query = select(Lesson).where(Lesson.section_id == section.id).order_by(Lesson.position)
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())
