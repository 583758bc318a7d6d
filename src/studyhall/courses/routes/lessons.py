"""HTTP for lessons: authoring (its course's author or an admin), opening, and completion."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import CurrentUser, OptionalUser, TutorOrAdmin
from studyhall.accounts.models import User
from studyhall.courses.schemas import (
    CompletionRead,
    LessonCreate,
    LessonRead,
    LessonSummary,
    LessonUpdate,
    Reorder,
)
from studyhall.courses.service import learning, structure
from studyhall.db.deps import Session
from studyhall.db.rls import cross_users

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT


async def _authoring(session: Session, user: User) -> None:
    # An admin may attach anyone's material to a lesson: the admin's request reads materials
    # across users. A tutor's stays inside their own rows.
    if user.role == "admin":
        await cross_users(session)


@router.post(
    "/sections/{section_id}/lessons", status_code=status.HTTP_201_CREATED, summary="Add a lesson"
)
async def lesson_create(
    section_id: uuid.UUID, data: LessonCreate, user: TutorOrAdmin, session: Session
) -> LessonRead:
    """Appends the lesson at the end of the section. A pdf lesson's material must be one its
    editor uploaded (admins may use anyone's)."""
    await _authoring(session, user)
    lesson = await structure.create_lesson(session, user, section_id, data)
    return LessonRead.model_validate(lesson)


@router.put("/sections/{section_id}/lesson-order", summary="Reorder a section's lessons")
async def lessons_reorder(
    section_id: uuid.UUID, data: Reorder, user: TutorOrAdmin, session: Session
) -> list[LessonSummary]:
    """The new order of every lesson of the section at once, each listed exactly once; answers
    the lessons in their new order."""
    lessons = await structure.reorder_lessons(session, user, section_id, data.ids)
    return [LessonSummary.model_validate(lesson) for lesson in lessons]


@router.get("/lessons/{lesson_id}", summary="Open a lesson")
async def lesson_get(lesson_id: uuid.UUID, user: OptionalUser, session: Session) -> LessonRead:
    """Preview lessons for anyone, the other published lessons with access to the course (403
    ``course_access_required``), drafts for its author and admins."""
    return LessonRead.model_validate(await learning.open_lesson(session, user, lesson_id))


@router.patch("/lessons/{lesson_id}", summary="Change a lesson")
async def lesson_update(
    lesson_id: uuid.UUID, data: LessonUpdate, user: TutorOrAdmin, session: Session
) -> LessonRead:
    """Its course's author or an admin."""
    await _authoring(session, user)
    lesson = await structure.update_lesson(session, user, lesson_id, data)
    return LessonRead.model_validate(lesson)


@router.delete("/lessons/{lesson_id}", status_code=NO_CONTENT, summary="Delete a lesson")
async def lesson_delete(lesson_id: uuid.UUID, user: TutorOrAdmin, session: Session) -> Response:
    """Its course's author or an admin; learners' completions of it go too."""
    await structure.delete_lesson(session, user, lesson_id)
    return Response(status_code=NO_CONTENT)


@router.put("/lessons/{lesson_id}/completion", summary="Mark a lesson complete")
async def lesson_complete(
    lesson_id: uuid.UUID, user: CurrentUser, session: Session
) -> CompletionRead:
    """Idempotent: completing again keeps the first ``completed_at``."""
    completed_at = await learning.complete_lesson(session, user, lesson_id)
    return CompletionRead(lesson_id=lesson_id, completed_at=completed_at)


@router.delete(
    "/lessons/{lesson_id}/completion", status_code=NO_CONTENT, summary="Mark a lesson not complete"
)
async def lesson_uncomplete(lesson_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    """Idempotent: a lesson that is not complete stays so."""
    await learning.uncomplete_lesson(session, user, lesson_id)
    return Response(status_code=NO_CONTENT)
