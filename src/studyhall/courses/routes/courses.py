"""HTTP for the taxonomy and the course tree (courses, sections, lessons)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts.deps import Admin, OptionalUser, TutorOrAdmin
from studyhall.courses import service
from studyhall.courses.catalog import Outline
from studyhall.courses.schemas import (
    CourseCreate,
    CourseOutline,
    CoursePage,
    CourseRead,
    CourseUpdate,
    LessonCreate,
    LessonRead,
    LessonSummary,
    LessonUpdate,
    OutlineSection,
    Reorder,
    SectionCreate,
    SectionRead,
    SectionUpdate,
    SubjectCreate,
    SubjectRead,
    SubjectUpdate,
    TopicCreate,
    TopicRead,
    TopicUpdate,
)
from studyhall.db.deps import Session

router = APIRouter(tags=["courses"])
NO_CONTENT = status.HTTP_204_NO_CONTENT
CREATED = status.HTTP_201_CREATED


# --- taxonomy -------------------------------------------------------------------------------


@router.get("/subjects", summary="List subjects (public)")
async def list_subjects(session: Session) -> list[SubjectRead]:
    return [SubjectRead.model_validate(s) for s in await service.list_subjects(session)]


@router.post("/subjects", status_code=CREATED, summary="Create a subject (admin)")
async def create_subject(data: SubjectCreate, user: Admin, session: Session) -> SubjectRead:
    return SubjectRead.model_validate(await service.create_subject(session, user.id, data))


@router.patch("/subjects/{subject_id}", summary="Change a subject (admin)")
async def update_subject(
    subject_id: uuid.UUID, data: SubjectUpdate, user: Admin, session: Session
) -> SubjectRead:
    return SubjectRead.model_validate(
        await service.update_subject(session, user.id, subject_id, data)
    )


@router.delete("/subjects/{subject_id}", status_code=NO_CONTENT, summary="Delete a subject (admin)")
async def delete_subject(subject_id: uuid.UUID, user: Admin, session: Session) -> Response:
    await service.delete_subject(session, user.id, subject_id)
    return Response(status_code=NO_CONTENT)


@router.get("/subjects/{subject_id}/topics", summary="List a subject's topics (public)")
async def list_topics(subject_id: uuid.UUID, session: Session) -> list[TopicRead]:
    return [TopicRead.model_validate(t) for t in await service.list_topics(session, subject_id)]


@router.post("/subjects/{subject_id}/topics", status_code=CREATED, summary="Create a topic (admin)")
async def create_topic(
    subject_id: uuid.UUID, data: TopicCreate, user: Admin, session: Session
) -> TopicRead:
    return TopicRead.model_validate(await service.create_topic(session, user.id, subject_id, data))


@router.patch("/topics/{topic_id}", summary="Change a topic (admin)")
async def update_topic(
    topic_id: uuid.UUID, data: TopicUpdate, user: Admin, session: Session
) -> TopicRead:
    return TopicRead.model_validate(await service.update_topic(session, user.id, topic_id, data))


@router.get("/topics/{topic_id}/lessons", summary="Published lessons on a topic (public)")
async def topic_lessons(topic_id: uuid.UUID, session: Session) -> list[LessonSummary]:
    lessons = await service.topic_lessons(session, topic_id)
    return [LessonSummary.model_validate(lesson) for lesson in lessons]


@router.delete("/topics/{topic_id}", status_code=NO_CONTENT, summary="Delete a topic (admin)")
async def delete_topic(topic_id: uuid.UUID, user: Admin, session: Session) -> Response:
    await service.delete_topic(session, user.id, topic_id)
    return Response(status_code=NO_CONTENT)


# --- courses --------------------------------------------------------------------------------


@router.get("/courses", summary="Browse the course catalogue, newest first (public)")
async def browse_courses(
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    author_id: uuid.UUID | None = None,
) -> CoursePage:
    courses, next_cursor = await service.browse(
        session, limit=limit, cursor=cursor, author_id=author_id
    )
    return CoursePage(
        items=[CourseRead.model_validate(c) for c in courses], next_cursor=next_cursor
    )


@router.post("/courses", status_code=CREATED, summary="Create a course (tutor or admin)")
async def create_course(data: CourseCreate, user: TutorOrAdmin, session: Session) -> CourseRead:
    return CourseRead.model_validate(await service.create_course(session, user, data))


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


@router.get(
    "/courses/{course_id}",
    summary="A course outline: private parts only for its author and admins (public)",
)
async def get_course(course_id: uuid.UUID, user: OptionalUser, session: Session) -> CourseOutline:
    return _outline(await service.outline(session, user, course_id))


@router.patch("/courses/{course_id}", summary="Change a course (its author or an admin)")
async def update_course(
    course_id: uuid.UUID, data: CourseUpdate, user: TutorOrAdmin, session: Session
) -> CourseRead:
    return CourseRead.model_validate(await service.update_course(session, user, course_id, data))


@router.delete(
    "/courses/{course_id}",
    status_code=NO_CONTENT,
    summary="Delete a course with its sections and lessons; 409 while products sell it",
)
async def delete_course(course_id: uuid.UUID, user: TutorOrAdmin, session: Session) -> Response:
    await service.delete_course(session, user, course_id)
    return Response(status_code=NO_CONTENT)


# --- sections -------------------------------------------------------------------------------


@router.post(
    "/courses/{course_id}/sections", status_code=CREATED, summary="Append a section (author/admin)"
)
async def create_section(
    course_id: uuid.UUID, data: SectionCreate, user: TutorOrAdmin, session: Session
) -> SectionRead:
    return SectionRead.model_validate(await service.create_section(session, user, course_id, data))


@router.put(
    "/courses/{course_id}/section-order",
    summary="Reorder all sections of a course at once (author/admin)",
)
async def reorder_sections(
    course_id: uuid.UUID, data: Reorder, user: TutorOrAdmin, session: Session
) -> list[SectionRead]:
    sections = await service.reorder_sections(session, user, course_id, data.ids)
    return [SectionRead.model_validate(s) for s in sections]


@router.patch("/sections/{section_id}", summary="Rename or (un)publish a section (author/admin)")
async def update_section(
    section_id: uuid.UUID, data: SectionUpdate, user: TutorOrAdmin, session: Session
) -> SectionRead:
    return SectionRead.model_validate(await service.update_section(session, user, section_id, data))


@router.delete(
    "/sections/{section_id}", status_code=NO_CONTENT, summary="Delete a section and its lessons"
)
async def delete_section(section_id: uuid.UUID, user: TutorOrAdmin, session: Session) -> Response:
    await service.delete_section(session, user, section_id)
    return Response(status_code=NO_CONTENT)


# --- lessons --------------------------------------------------------------------------------


@router.post(
    "/sections/{section_id}/lessons", status_code=CREATED, summary="Append a lesson (author/admin)"
)
async def create_lesson(
    section_id: uuid.UUID, data: LessonCreate, user: TutorOrAdmin, session: Session
) -> LessonRead:
    return LessonRead.model_validate(await service.create_lesson(session, user, section_id, data))


@router.put(
    "/sections/{section_id}/lesson-order",
    summary="Reorder all lessons of a section at once (author/admin)",
)
async def reorder_lessons(
    section_id: uuid.UUID, data: Reorder, user: TutorOrAdmin, session: Session
) -> list[LessonSummary]:
    lessons = await service.reorder_lessons(session, user, section_id, data.ids)
    return [LessonSummary.model_validate(lesson) for lesson in lessons]


@router.get(
    "/lessons/{lesson_id}",
    summary="Open a lesson: previews for anyone, the rest with course access (public)",
)
async def get_lesson(lesson_id: uuid.UUID, user: OptionalUser, session: Session) -> LessonRead:
    return LessonRead.model_validate(await service.open_lesson(session, user, lesson_id))


@router.patch("/lessons/{lesson_id}", summary="Change a lesson (author/admin)")
async def update_lesson(
    lesson_id: uuid.UUID, data: LessonUpdate, user: TutorOrAdmin, session: Session
) -> LessonRead:
    return LessonRead.model_validate(await service.update_lesson(session, user, lesson_id, data))


@router.delete("/lessons/{lesson_id}", status_code=NO_CONTENT, summary="Delete a lesson")
async def delete_lesson(lesson_id: uuid.UUID, user: TutorOrAdmin, session: Session) -> Response:
    await service.delete_lesson(session, user, lesson_id)
    return Response(status_code=NO_CONTENT)
