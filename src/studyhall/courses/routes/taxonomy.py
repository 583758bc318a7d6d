"""HTTP for the taxonomy: subjects and their topics, and the published lessons on a topic."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studyhall.accounts.deps import Admin
from studyhall.courses.schemas import (
    LessonSummary,
    LessonSummaryPage,
    SubjectCreate,
    SubjectPage,
    SubjectRead,
    SubjectUpdate,
    TopicCreate,
    TopicPage,
    TopicRead,
    TopicUpdate,
)
from studyhall.courses.service import taxonomy
from studyhall.db.deps import Session
from studyhall.kit.paging import PageQuery

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT
CREATED = status.HTTP_201_CREATED


@router.get("/subjects", summary="List subjects")
async def subjects_list(session: Session, page: PageQuery) -> SubjectPage:
    """Every subject, by name. Public."""
    rows, cursor = await taxonomy.list_subjects(session, page)
    return SubjectPage(items=[SubjectRead.model_validate(s) for s in rows], next_cursor=cursor)


@router.post("/subjects", status_code=CREATED, summary="Create a subject")
async def subject_create(data: SubjectCreate, user: Admin, session: Session) -> SubjectRead:
    """Admins only; names are unique (409 ``subject_name_taken``)."""
    return SubjectRead.model_validate(await taxonomy.create_subject(session, user.id, data))


@router.patch("/subjects/{subject_id}", summary="Change a subject")
async def subject_update(
    subject_id: uuid.UUID, data: SubjectUpdate, user: Admin, session: Session
) -> SubjectRead:
    """Admins only: rename or describe a subject."""
    return SubjectRead.model_validate(
        await taxonomy.update_subject(session, user.id, subject_id, data)
    )


@router.delete("/subjects/{subject_id}", status_code=NO_CONTENT, summary="Delete a subject")
async def subject_delete(subject_id: uuid.UUID, user: Admin, session: Session) -> Response:
    """Admins only; refused (409 ``subject_has_topics``) while the subject has topics."""
    await taxonomy.delete_subject(session, user.id, subject_id)
    return Response(status_code=NO_CONTENT)


@router.get("/subjects/{subject_id}/topics", summary="List a subject's topics")
async def topics_list(subject_id: uuid.UUID, session: Session, page: PageQuery) -> TopicPage:
    """The subject's topics, by name. Public."""
    rows, cursor = await taxonomy.list_topics(session, subject_id, page)
    return TopicPage(items=[TopicRead.model_validate(t) for t in rows], next_cursor=cursor)


@router.post("/subjects/{subject_id}/topics", status_code=CREATED, summary="Create a topic")
async def topic_create(
    subject_id: uuid.UUID, data: TopicCreate, user: Admin, session: Session
) -> TopicRead:
    """Admins only; topic names are unique within their subject."""
    return TopicRead.model_validate(await taxonomy.create_topic(session, user.id, subject_id, data))


@router.patch("/topics/{topic_id}", summary="Change a topic")
async def topic_update(
    topic_id: uuid.UUID, data: TopicUpdate, user: Admin, session: Session
) -> TopicRead:
    """Admins only: rename a topic or change its difficulty."""
    return TopicRead.model_validate(await taxonomy.update_topic(session, user.id, topic_id, data))


@router.get("/topics/{topic_id}/lessons", summary="List the published lessons on a topic")
async def topic_lessons_list(
    topic_id: uuid.UUID, session: Session, page: PageQuery
) -> LessonSummaryPage:
    """Published lessons tagged with the topic, by course and in course order. Public."""
    rows, cursor = await taxonomy.topic_lessons(session, topic_id, page)
    return LessonSummaryPage(
        items=[LessonSummary.model_validate(lesson) for lesson in rows], next_cursor=cursor
    )


@router.delete("/topics/{topic_id}", status_code=NO_CONTENT, summary="Delete a topic")
async def topic_delete(topic_id: uuid.UUID, user: Admin, session: Session) -> Response:
    """Admins only; lessons tagged with the topic keep existing, untagged."""
    await taxonomy.delete_topic(session, user.id, topic_id)
    return Response(status_code=NO_CONTENT)
