"""AI artifacts (seed 000 ``ai_artifacts``): summaries, flashcard decks and quizzes made by a job.

An artifact is made from one material, or from a topic: the accessible materials of the course
lessons tagged with it. A completed flashcards artifact also becomes ``flashcards`` rows
(scheduled by FSRS) and a quiz artifact becomes ``quizzes``/``quiz_questions`` rows, so both can
be studied and scored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fsrs import Card
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.db.engine import Database
from studyhall.jobs.core import enqueue
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.notifications import service as notifications
from studyhall.study import materials as materials_service
from studyhall.study import quota
from studyhall.study.engine.chunk import Passage
from studyhall.study.generation import GenerationError, Kind, generate
from studyhall.study.llm import chat_client
from studyhall.study.models import (
    AiArtifact,
    Flashcard,
    Material,
    MaterialChunk,
    Quiz,
    QuizQuestion,
)
from studyhall.study.retrieval import RetrievedChunk, bypass_rls, scope

log = logging.getLogger(__name__)

# How much of a material one artifact reads: enough for a chapter, bounded for the model context.
CONTEXT_TOKENS = 6000


async def create(
    session: AsyncSession,
    database: Database,
    settings: Settings,
    user: User,
    kind: Kind,
    max_items: int,
    *,
    material_id: uuid.UUID | None = None,
    topic_id: uuid.UUID | None = None,
) -> AiArtifact:
    """From ``material_id`` (one the user may read) or else from ``topic_id``."""
    if material_id is not None:
        sources = [await _ready_material(session, user, material_id)]
    else:
        assert topic_id is not None
        sources = await _topic_materials(session, user, topic_id)
    tokens = min(CONTEXT_TOKENS, await _material_tokens(session, sources))
    reservation = await quota.reserve(
        database, settings, user, kind, tokens + settings.llm_max_output_tokens
    )
    artifact = AiArtifact(
        user_id=user.id,
        material_id=material_id,
        topic_id=topic_id,
        type=kind,
        status="pending",
        max_items=max_items,
        reservation_id=reservation.id,
    )
    session.add(artifact)
    await session.flush()
    await audit.record(
        session,
        user.id,
        "artifact.request",
        "ai_artifact",
        artifact.id,
        {"type": kind, "material_id": material_id, "topic_id": topic_id, "max_items": max_items},
    )
    from studyhall.study.jobs import generate_artifact

    await enqueue(session, generate_artifact, artifact_id=str(artifact.id))
    return artifact


async def _ready_material(session: AsyncSession, user: User, material_id: uuid.UUID) -> uuid.UUID:
    material = await materials_service.get_readable(session, user.id, material_id)
    if material.processing_status != "completed":
        raise Conflict(
            f"The material is {material.processing_status}; artifacts need a processed material.",
            code="material_not_ready",
        )
    return material.id


async def _topic_materials(
    session: AsyncSession, user: User, topic_id: uuid.UUID
) -> list[uuid.UUID]:
    if await courses.find_topic(session, topic_id) is None:
        raise Unprocessable(
            f"No topic with id {topic_id}.", code="topic_not_found", field="topic_id"
        )
    material_ids = await scope(session, user.id, topic_id=topic_id)
    if not material_ids:
        raise Unprocessable(
            "None of the materials you can read belongs to a course lesson of this topic.",
            code="topic_has_no_material",
            field="topic_id",
        )
    return material_ids


async def _material_tokens(session: AsyncSession, material_ids: Sequence[uuid.UUID]) -> int:
    counts = (
        await session.scalars(
            select(MaterialChunk.token_count).where(MaterialChunk.material_id.in_(material_ids))
        )
    ).all()
    return sum(counts)


async def get_owned(
    session: AsyncSession, user_id: uuid.UUID, artifact_id: uuid.UUID
) -> AiArtifact:
    artifact = await session.get(AiArtifact, artifact_id)
    if artifact is None or artifact.user_id != user_id or artifact.deleted_at is not None:
        raise NotFound("No such artifact.", code="artifact_not_found")
    return artifact


async def list_owned(session: AsyncSession, user_id: uuid.UUID) -> Sequence[AiArtifact]:
    return (
        await session.scalars(
            select(AiArtifact)
            .where(AiArtifact.user_id == user_id, AiArtifact.deleted_at.is_(None))
            .order_by(AiArtifact.created_at.desc(), AiArtifact.id)
        )
    ).all()


async def quiz_of(session: AsyncSession, artifact_id: uuid.UUID) -> uuid.UUID | None:
    quiz_id: uuid.UUID | None = await session.scalar(
        select(Quiz.id).where(Quiz.artifact_id == artifact_id)
    )
    return quiz_id


# The job ---------------------------------------------------------------------------------


async def _sources(session: AsyncSession, artifact: AiArtifact) -> list[uuid.UUID] | str:
    """The materials the artifact is made from, read again now (access may have been lost since
    the request), or why there are none."""
    if artifact.material_id is not None:
        found = await scope(session, artifact.user_id, [artifact.material_id])
        return found or "the material was deleted or is no longer accessible"
    if artifact.topic_id is None:
        return "the topic was deleted"
    found = await scope(session, artifact.user_id, topic_id=artifact.topic_id)
    return found or "no accessible material belongs to the topic any more"


async def _passages(session: AsyncSession, material_ids: Sequence[uuid.UUID]) -> list[Passage]:
    """The materials' chunks within the context budget; several materials are read in turns
    (the first chunk of each, then the second, …) so that each one is covered."""
    rows = (
        await session.execute(
            select(MaterialChunk, Material)
            .join(Material, Material.id == MaterialChunk.material_id)
            .where(MaterialChunk.material_id.in_(material_ids))
            .order_by(MaterialChunk.ordinal, Material.created_at, Material.id)
        )
    ).all()
    passages: list[Passage] = []
    budget = CONTEXT_TOKENS
    for chunk, material in rows:
        if budget - chunk.token_count < 0 and passages:
            break
        budget -= chunk.token_count
        retrieved = RetrievedChunk(
            chunk.id,
            material.id,
            material.file_name,
            material.mime_type,
            chunk.ordinal,
            chunk.heading,
            chunk.page_number,
            chunk.chunk_text,
            0.0,
        )
        passages.append(retrieved.to_passage())
    return passages


async def run(database: Database, settings: Settings, artifact_id: uuid.UUID) -> str:
    """Generate, store, settle the quota; any failure leaves a ``failed`` artifact."""
    async with database.transaction() as session:
        await bypass_rls(session)
        artifact = await session.scalar(
            select(AiArtifact).where(AiArtifact.id == artifact_id).with_for_update()
        )
        if artifact is None or artifact.status in ("completed", "failed"):
            return "gone" if artifact is None else artifact.status
        sources = await _sources(session, artifact)
        if isinstance(sources, str):
            await _fail(session, artifact, sources)
            if artifact.reservation_id:
                await quota.release(session, artifact.reservation_id)
            return "failed"
        artifact.status = "processing"
        passages = await _passages(session, sources)
        kind: Kind = artifact.type  # type: ignore[assignment]
        max_items, reservation_id = artifact.max_items, artifact.reservation_id
    try:
        made = await generate(
            kind,
            passages,
            max_items,
            chat_client(settings),
            max_tokens=settings.llm_max_output_tokens,
        )
    except GenerationError as exc:
        async with database.transaction() as session:
            await bypass_rls(session)
            artifact = await _locked(session, artifact_id)
            await _fail(session, artifact, str(exc))
            if reservation_id:
                await quota.release(session, reservation_id)
        return "failed"
    async with database.transaction() as session:
        await bypass_rls(session)
        artifact = await _locked(session, artifact_id)
        if artifact.status != "processing":
            return artifact.status
        artifact.status, artifact.payload = "completed", made.payload
        artifact.engine, artifact.model_name, artifact.error = made.engine, made.model, made.note
        await _materialize(session, artifact)
        if reservation_id:
            await quota.settle(session, reservation_id, made.calls, artifact_id=artifact.id)
        await audit.record(
            session,
            None,
            "artifact.completed",
            "ai_artifact",
            artifact.id,
            {"engine": made.engine, "model": made.model, "note": made.note},
        )
        await _tell_ready(session, artifact)
    return "completed"


async def _tell_ready(session: AsyncSession, artifact: AiArtifact) -> None:
    """The learner who asked is told (in the app, by default) that the artifact is ready; the
    row commits with the artifact, and the dedupe key keeps a re-run job from telling twice."""
    material = await session.get(Material, artifact.material_id) if artifact.material_id else None
    title = material.file_name if material is not None else "your topic"
    await notifications.notify(
        session,
        artifact.user_id,
        "ai_artifact_ready",
        {
            "title": f"{artifact.type.capitalize()} of {title}",
            "kind": artifact.type,
            "artifact_id": str(artifact.id),
            "url": f"/artifacts/{artifact.id}",
        },
        entity="ai_artifact",
        entity_id=artifact.id,
        dedupe_key=f"ai_artifact_ready:{artifact.id}",
    )


async def _locked(session: AsyncSession, artifact_id: uuid.UUID) -> AiArtifact:
    artifact = await session.scalar(
        select(AiArtifact).where(AiArtifact.id == artifact_id).with_for_update()
    )
    assert artifact is not None
    return artifact


async def _fail(session: AsyncSession, artifact: AiArtifact, message: str) -> None:
    artifact.status, artifact.error = "failed", message
    await audit.record(
        session, None, "artifact.failed", "ai_artifact", artifact.id, {"error": message}
    )


def _chunk_id(citations: list[dict[str, Any]]) -> uuid.UUID | None:
    return uuid.UUID(citations[0]["chunk_id"]) if citations else None


async def _materialize(session: AsyncSession, artifact: AiArtifact) -> None:
    payload = artifact.payload or {}
    now = datetime.now(UTC)
    if artifact.type == "flashcards":
        for position, card in enumerate(payload.get("cards", [])):
            # A microsecond apart: a new deck comes up for review in the order it was made.
            due = now + timedelta(microseconds=position)
            state = Card(due=due).to_dict()
            session.add(
                Flashcard(
                    user_id=artifact.user_id,
                    artifact_id=artifact.id,
                    source_chunk_id=_chunk_id(card["citations"]),
                    front=card["front"],
                    back=card["back"],
                    citations=card["citations"],
                    fsrs_state=state,
                    due_at=due,
                )
            )
    elif artifact.type == "quiz":
        quiz = Quiz(
            user_id=artifact.user_id,
            material_id=artifact.material_id,
            topic_id=artifact.topic_id,
            artifact_id=artifact.id,
            generated_by_ai=True,
        )
        session.add(quiz)
        await session.flush()
        for position, question in enumerate(payload.get("questions", []), start=1):
            correct = next(o["text"] for o in question["options"] if o["correct"])
            session.add(
                QuizQuestion(
                    quiz_id=quiz.id,
                    position=position,
                    question_text=question["stem"],
                    options=[o["text"] for o in question["options"]],
                    correct_answer=correct,
                    explanation=question["explanation"],
                    citations=question["citations"],
                    source_chunk_id=_chunk_id(question["citations"]),
                )
            )
    await session.flush()


async def fail_unexpected(database: Database, artifact_id: uuid.UUID, error: Exception) -> None:
    """A bug must not leave an artifact ``processing`` forever nor keep its tokens reserved."""
    async with database.transaction() as session:
        await bypass_rls(session)
        await session.execute(
            update(AiArtifact)
            .where(AiArtifact.id == artifact_id, AiArtifact.status.in_(("pending", "processing")))
            .values(status="failed", error=f"internal error ({type(error).__name__})")
        )
        reservation_id = await session.scalar(
            select(AiArtifact.reservation_id).where(AiArtifact.id == artifact_id)
        )
        if reservation_id:
            await quota.release(session, reservation_id)
