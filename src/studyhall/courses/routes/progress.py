"""HTTP for a learner's progress: in one course, what comes next, and across their courses."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from studyhall.accounts.deps import CurrentUser
from studyhall.courses.models import Lesson
from studyhall.courses.schemas import (
    ContinueRead,
    CourseProgress,
    LessonSummary,
    ProgressLesson,
    ProgressSummary,
    ProgressSummaryPage,
)
from studyhall.courses.service import learning
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery

router = APIRouter()


@router.get("/courses/{course_id}/progress", summary="Get my progress in a course")
async def course_progress_get(
    course_id: uuid.UUID, user: CurrentUser, session: Session
) -> CourseProgress:
    """Every published lesson in order with when I completed it, and the percentage."""
    found = await learning.course_progress(session, user.id, course_id)
    return CourseProgress(
        course_id=course_id,
        total_lessons=found.total,
        completed_lessons=found.completed,
        percent=found.percent,
        lessons=[ProgressLesson(**vars(row)) for row in found.rows],
    )


@router.get("/courses/{course_id}/continue", summary="Get the next lesson to study")
async def course_continue_get(
    course_id: uuid.UUID, user: CurrentUser, session: Session
) -> ContinueRead:
    """The first published lesson I have not completed, or none once the course is complete."""
    found = await learning.course_progress(session, user.id, course_id)
    next_id = found.next_lesson_id()
    lesson = None if next_id is None else await session.get(Lesson, next_id)
    return ContinueRead(
        course_id=course_id,
        lesson=None if lesson is None else LessonSummary.model_validate(lesson),
        course_completed=found.total > 0 and next_id is None,
    )


@router.get("/me/courses", summary="List my courses with my progress")
async def my_courses_list(
    user: CurrentUser, session: Session, page: PageQuery
) -> ProgressSummaryPage:
    """Every course I can access, by title, with my progress in each."""
    rows, cursor = await learning.progress_summaries_page(session, user.id, page)
    items = [
        ProgressSummary(
            course_id=course_id,
            title=title,
            total_lessons=total,
            completed_lessons=done,
            percent=learning.percent(done, total),
        )
        for course_id, title, total, done in rows
    ]
    return ProgressSummaryPage(items=items, next_cursor=cursor)
