"""HTTP for courses: the catalogue, a course's outline, authoring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import Admin, OptionalUser, TutorOrAdmin
from studyhall.courses.schemas import (
    CourseCreate,
    CourseOutline,
    CoursePage,
    CourseRead,
    CourseUpdate,
    LessonSummary,
    OutlineSection,
    SectionRead,
)
from studyhall.courses.service import catalog
from studyhall.courses.service.catalog import Outline
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.get("/courses", summary="Browse the course catalogue")
async def courses_list(
    session: Session, page: PageQuery, author_id: uuid.UUID | None = None
) -> CoursePage:
    """Every course, newest first, optionally only one author's. Public."""
    rows, cursor = await catalog.browse(session, page, author_id=author_id)
    return CoursePage(items=[CourseRead.model_validate(c) for c in rows], next_cursor=cursor)


@router.post("/courses", status_code=status.HTTP_201_CREATED, summary="Create a course")
async def course_create(data: CourseCreate, user: TutorOrAdmin, session: Session) -> CourseRead:
    """A tutor's course is theirs to edit; an admin's is a platform course with no author."""
    return CourseRead.model_validate(await catalog.create_course(session, user, data))


def _outline(found: Outline) -> CourseOutline:
    return CourseOutline(
        **CourseRead.model_validate(found.course).model_dump(),
        sections=[
            OutlineSection(
                **SectionRead.model_validate(section).model_dump(),
                lessons=[LessonSummary.model_validate(lesson) for lesson in lessons],
            )
            for section, lessons in found.sections
        ],
        can_edit=found.can_edit,
        has_access=found.has_access,
    )


@router.get("/courses/{course_id}", summary="Get a course's outline")
async def course_get(course_id: uuid.UUID, user: OptionalUser, session: Session) -> CourseOutline:
    """The course with its sections and lessons in order. Public; private sections and draft
    lessons only for its author and admins."""
    return _outline(await catalog.outline(session, user, course_id))


@router.patch("/courses/{course_id}", summary="Change a course")
async def course_update(
    course_id: uuid.UUID, data: CourseUpdate, user: TutorOrAdmin, session: Session
) -> CourseRead:
    """Its author or an admin."""
    return CourseRead.model_validate(await catalog.update_course(session, user, course_id, data))


@router.post("/courses/{course_id}/feature", summary="Feature a course (admin)")
async def course_feature(course_id: uuid.UUID, user: Admin, session: Session) -> CourseRead:
    """Show the course among the catalogue's featured ones (the most recently featured first);
    audited. Featuring a featured course changes nothing. No body."""
    course = await catalog.set_featured(session, user, course_id, True, datetime.now(UTC))
    return CourseRead.model_validate(course)


@router.post("/courses/{course_id}/unfeature", summary="Stop featuring a course (admin)")
async def course_unfeature(course_id: uuid.UUID, user: Admin, session: Session) -> CourseRead:
    """The course stays in the catalogue, no longer among the featured ones; audited. No
    body."""
    course = await catalog.set_featured(session, user, course_id, False, datetime.now(UTC))
    return CourseRead.model_validate(course)


@router.delete("/courses/{course_id}", status_code=NO_CONTENT, summary="Delete a course")
async def course_delete(course_id: uuid.UUID, user: TutorOrAdmin, session: Session) -> Response:
    """Its author or an admin; its sections and lessons go with it. Refused (409
    ``course_linked_to_products``) while products sell it."""
    await catalog.delete_course(session, user, course_id)
    return Response(status_code=NO_CONTENT)
