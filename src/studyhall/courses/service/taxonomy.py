"""The taxonomy: subjects and their topics, shared by lessons, quizzes, chat and mastery."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.courses.models import CourseSection, Lesson, Subject, Topic
from studyhall.courses.schemas import SubjectCreate, SubjectUpdate, TopicCreate, TopicUpdate
from studyhall.courses.service.constraints import flush_unique
from studyhall.courses.service.lookups import KEY_SHARE, get_or_404
from studyhall.courses.service.permissions import PUBLISHED_LESSON
from studyhall.kit.errors import Conflict
from studyhall.kit.paging import PageRequest, after


def _subject_taken(name: str) -> Conflict:
    return Conflict(f"A subject named '{name}' exists.", code="subject_name_taken")


def _topic_taken(name: str) -> Conflict:
    return Conflict(f"The subject has a topic named '{name}'.", code="topic_name_taken")


async def list_subjects(
    session: AsyncSession, page: PageRequest
) -> tuple[list[Subject], str | None]:
    """By name (names are unique; the id only makes the key total)."""
    order = (Subject.name.expression, Subject.id.expression)
    query = select(Subject).order_by(*order).limit(page.limit + 1)
    beyond = after(order, page.key(str, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = list((await session.scalars(query)).all())
    return page.of(rows, lambda subject: (subject.name, subject.id))


async def _name_taken(session: AsyncSession, name: str, exclude: uuid.UUID | None) -> bool:
    query = select(exists().where(Subject.name == name, Subject.id != exclude))
    return bool(await session.scalar(query))


async def create_subject(session: AsyncSession, actor: uuid.UUID, data: SubjectCreate) -> Subject:
    if await _name_taken(session, data.name, None):
        raise _subject_taken(data.name)
    subject = Subject(name=data.name, description=data.description)
    session.add(subject)
    await flush_unique(session, "uq_subjects_name", _subject_taken(data.name))
    await audit.record(session, actor, "subject.create", "subject", subject.id, data.model_dump())
    return subject


async def update_subject(
    session: AsyncSession, actor: uuid.UUID, subject_id: uuid.UUID, data: SubjectUpdate
) -> Subject:
    subject = await get_or_404(session, Subject, subject_id, "subject", lock=True)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and await _name_taken(session, changes["name"], subject.id):
        raise _subject_taken(changes["name"])
    before = {key: getattr(subject, key) for key in changes}
    for key, value in changes.items():
        setattr(subject, key, value)
    await flush_unique(session, "uq_subjects_name", _subject_taken(subject.name))
    await audit.record(
        session, actor, "subject.update", "subject", subject.id, audit.changes(before, changes)
    )
    return subject


async def delete_subject(session: AsyncSession, actor: uuid.UUID, subject_id: uuid.UUID) -> None:
    subject = await get_or_404(session, Subject, subject_id, "subject", lock=True)
    if await session.scalar(select(exists().where(Topic.subject_id == subject.id))):
        raise Conflict(
            "The subject still has topics; delete or move them first.", code="subject_has_topics"
        )
    await session.delete(subject)
    await session.flush()
    await audit.record(
        session, actor, "subject.delete", "subject", subject_id, {"name": subject.name}
    )


async def list_topics(
    session: AsyncSession, subject_id: uuid.UUID, page: PageRequest
) -> tuple[list[Topic], str | None]:
    await get_or_404(session, Subject, subject_id, "subject")
    order = (Topic.name.expression, Topic.id.expression)
    query = select(Topic).where(Topic.subject_id == subject_id).order_by(*order)
    beyond = after(order, page.key(str, uuid.UUID))
    if beyond is not None:
        query = query.where(beyond)
    rows = list((await session.scalars(query.limit(page.limit + 1))).all())
    return page.of(rows, lambda topic: (topic.name, topic.id))


async def _topic_name_taken(
    session: AsyncSession, subject_id: uuid.UUID, name: str, exclude: uuid.UUID | None
) -> bool:
    query = select(
        exists().where(Topic.subject_id == subject_id, Topic.name == name, Topic.id != exclude)
    )
    return bool(await session.scalar(query))


async def create_topic(
    session: AsyncSession, actor: uuid.UUID, subject_id: uuid.UUID, data: TopicCreate
) -> Topic:
    # Locking the subject serializes topic creation in it, so the name check cannot race.
    await get_or_404(session, Subject, subject_id, "subject", lock=True)
    if await _topic_name_taken(session, subject_id, data.name, None):
        raise _topic_taken(data.name)
    topic = Topic(subject_id=subject_id, **data.model_dump())
    session.add(topic)
    await flush_unique(session, "uq_topics_subject_id_name", _topic_taken(data.name))
    await audit.record(session, actor, "topic.create", "topic", topic.id, data.model_dump())
    return topic


async def update_topic(
    session: AsyncSession, actor: uuid.UUID, topic_id: uuid.UUID, data: TopicUpdate
) -> Topic:
    topic = await get_or_404(session, Topic, topic_id, "topic")
    await get_or_404(session, Subject, topic.subject_id, "subject", lock=True)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and await _topic_name_taken(
        session, topic.subject_id, changes["name"], topic.id
    ):
        raise _topic_taken(changes["name"])
    before = {key: getattr(topic, key) for key in changes}
    for key, value in changes.items():
        setattr(topic, key, value)
    await flush_unique(session, "uq_topics_subject_id_name", _topic_taken(topic.name))
    await audit.record(
        session, actor, "topic.update", "topic", topic.id, audit.changes(before, changes)
    )
    return topic


async def find_topic(session: AsyncSession, topic_id: uuid.UUID) -> Topic | None:
    """The topic, kept from being deleted until commit: the caller is about to reference it."""
    return await session.get(Topic, topic_id, with_for_update=KEY_SHARE)


async def topic_subject_and_difficulty(
    session: AsyncSession, topic_id: uuid.UUID
) -> tuple[str, int | None] | None:
    """The topic's subject name and difficulty level (for mastery), in one query."""
    row = (
        await session.execute(
            select(Subject.name, Topic.difficulty_level)
            .join(Topic, Topic.subject_id == Subject.id)
            .where(Topic.id == topic_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def topic_lessons(
    session: AsyncSession, topic_id: uuid.UUID, page: PageRequest
) -> tuple[list[Lesson], str | None]:
    """Subject → topic → lesson browsing: the published lessons tagged with the topic, by
    course, then in course order."""
    await get_or_404(session, Topic, topic_id, "topic")
    order = (
        CourseSection.course_id.expression,
        CourseSection.position.expression,
        Lesson.position.expression,
    )
    query = (
        select(Lesson, *order)
        .join(CourseSection, CourseSection.id == Lesson.section_id)
        .where(
            Lesson.topic_id == topic_id,
            CourseSection.status == "public",
            Lesson.status.in_(PUBLISHED_LESSON),
        )
        .order_by(*order)
        .limit(page.limit + 1)
    )
    beyond = after(order, page.key(uuid.UUID, int, int))
    if beyond is not None:
        query = query.where(beyond)
    rows = list((await session.execute(query)).all())
    found, cursor = page.of(rows, lambda row: (row[1], row[2], row[3]))
    return [row[0] for row in found], cursor


async def delete_topic(session: AsyncSession, actor: uuid.UUID, topic_id: uuid.UUID) -> None:
    """Lessons keep existing: their ``topic_id`` is set to NULL by the foreign key."""
    topic = await get_or_404(session, Topic, topic_id, "topic", lock=True)
    await session.delete(topic)
    await session.flush()
    await audit.record(session, actor, "topic.delete", "topic", topic_id, {"name": topic.name})
