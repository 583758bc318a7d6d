"""Making an artifact, the work of the ``generate_artifact`` job: read the sources again,
generate (the LLM engine when configured, the offline engine always behind it), store, settle
the quota and tell the learner.

Each step is a short transaction of its own that acts for the system across users
(``cross_users`` first): the job is not the learner's request, and a course material may belong
to its author. No model is called inside a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fsrs import Card
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.notifications import service as notifications
from studyhall.study.engine.chunk import Passage
from studyhall.study.models import (
    AiArtifact,
    Flashcard,
    Material,
    MaterialChunk,
    Quiz,
    QuizQuestion,
)
from studyhall.study.providers.llm import chat_client
from studyhall.study.service import quota
from studyhall.study.service.generation import GenerationError, Kind, generate
from studyhall.study.service.retrieval import RetrievedChunk, scope

# How much of a material one artifact reads: enough for a chapter, bounded for the model context.
CONTEXT_TOKENS = 6000


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
    async with cross_users_transaction(database) as session:
        artifact = await session.scalar(
            select(AiArtifact).where(AiArtifact.id == artifact_id).with_for_update()
        )
        if artifact is None or artifact.status in ("completed", "failed"):
            return "gone" if artifact is None else artifact.status
        sources = await _sources(session, artifact)
        if isinstance(sources, str):
            await _fail(session, artifact, sources, "sources_unavailable")
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
        async with cross_users_transaction(database) as session:
            artifact = await _locked(session, artifact_id)
            await _fail(session, artifact, str(exc), exc.code)
            if reservation_id:
                await quota.release(session, reservation_id)
        return "failed"
    async with cross_users_transaction(database) as session:
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


async def _fail(session: AsyncSession, artifact: AiArtifact, message: str, code: str) -> None:
    artifact.status, artifact.error, artifact.error_code = "failed", message, code
    await audit.record(
        session,
        None,
        "artifact.failed",
        "ai_artifact",
        artifact.id,
        {"error": message, "code": code},
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
    async with cross_users_transaction(database) as session:
        await session.execute(
            update(AiArtifact)
            .where(AiArtifact.id == artifact_id, AiArtifact.status.in_(("pending", "processing")))
            .values(
                status="failed",
                error=f"internal error ({type(error).__name__})",
                error_code="internal_error",
            )
        )
        reservation_id = await session.scalar(
            select(AiArtifact.reservation_id).where(AiArtifact.id == artifact_id)
        )
        if reservation_id:
            await quota.release(session, reservation_id)
