"""AI artifacts: summaries, flashcard decks and quizzes, requested here and made by a job.

An artifact is made from one material, or from a topic: the accessible materials of the course
lessons tagged with it. A completed flashcards artifact also becomes ``flashcards`` rows
(scheduled by FSRS) and a quiz artifact becomes ``quizzes``/``quiz_questions`` rows, so both can
be studied and scored. The job's work is in ``artifact_runs``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.config import Settings
from studyhall.courses import service as courses
from studyhall.db.engine import Database
from studyhall.jobs.core import enqueue
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.kit.paging import PageRequest
from studyhall.study import jobs
from studyhall.study.models import AiArtifact, MaterialChunk, Quiz
from studyhall.study.service import quota
from studyhall.study.service.artifact_runs import CONTEXT_TOKENS
from studyhall.study.service.generation import Kind
from studyhall.study.service.listing import keyset_page
from studyhall.study.service.materials import get_readable
from studyhall.study.service.retrieval import scope

log = logging.getLogger(__name__)


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
    await enqueue(session, jobs.generate_artifact, artifact_id=str(artifact.id))
    return artifact


async def _ready_material(session: AsyncSession, user: User, material_id: uuid.UUID) -> uuid.UUID:
    material = await get_readable(session, user.id, material_id)
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


async def list_owned(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[AiArtifact], str | None]:
    """The user's artifacts, newest first."""
    query = select(AiArtifact).where(AiArtifact.user_id == user_id, AiArtifact.deleted_at.is_(None))
    return await keyset_page(
        session,
        query,
        (AiArtifact.created_at, AiArtifact.id),
        page,
        lambda a: (a.created_at, a.id),
    )


async def deck_of(
    session: AsyncSession, user_id: uuid.UUID, material_id: uuid.UUID
) -> AiArtifact | None:
    """The user's newest completed flashcards of the material: where a refused quiz sends them."""
    found: AiArtifact | None = await session.scalar(
        select(AiArtifact)
        .where(
            AiArtifact.user_id == user_id,
            AiArtifact.material_id == material_id,
            AiArtifact.type == "flashcards",
            AiArtifact.status == "completed",
            AiArtifact.deleted_at.is_(None),
        )
        .order_by(AiArtifact.created_at.desc(), AiArtifact.id.desc())
        .limit(1)
    )
    return found


async def quizzes_of(
    session: AsyncSession, artifact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The quiz each of the quiz artifacts became, in one query for a page of artifacts."""
    rows = await session.execute(
        select(Quiz.artifact_id, Quiz.id).where(Quiz.artifact_id.in_(artifact_ids))
    )
    return {artifact_id: quiz_id for artifact_id, quiz_id in rows if artifact_id is not None}
