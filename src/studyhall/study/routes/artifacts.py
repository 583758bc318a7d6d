"""Artifacts: ask for a summary, flashcard deck or quiz, and read what the job made."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import AppDatabase, Session
from studyhall.kit.paging import PageQuery
from studyhall.study.models import AiArtifact
from studyhall.study.routes.deps import AppSettings
from studyhall.study.schemas import ArtifactCreate, ArtifactPage, ArtifactRead
from studyhall.study.service import artifacts

router = APIRouter()


def _artifact_read(artifact: AiArtifact, quiz_id: uuid.UUID | None) -> ArtifactRead:
    is_quiz = artifact.type == "quiz"
    return ArtifactRead(
        id=artifact.id,
        type=artifact.type,
        material_id=artifact.material_id,
        topic_id=artifact.topic_id,
        status=artifact.status,
        engine=artifact.engine,
        model_name=artifact.model_name,
        error=artifact.error,
        error_code=artifact.error_code,
        # A quiz's payload holds its answers: they stay on the server until it is submitted.
        payload=None if is_quiz else artifact.payload,
        quiz_id=quiz_id if is_quiz else None,
        created_at=artifact.created_at,
    )


@router.post(
    "/artifacts",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ArtifactRead,
    summary="Ask for a summary, flashcards or a quiz",
)
async def artifacts_create(
    body: ArtifactCreate,
    settings: AppSettings,
    database: AppDatabase,
    user: CurrentUser,
    session: Session,
) -> Any:
    """Queue a summary, flashcard deck or quiz of a material or a topic; it counts against the
    AI quota. Poll the artifact until its ``status`` is ``completed`` or ``failed``; a failed one
    says why in ``error`` and, stably, ``error_code`` (``quiz_no_fair_questions``: no fair
    multiple-choice question can be made from the material, study its flashcards instead)."""
    artifact = await artifacts.create(
        session,
        database,
        settings,
        user,
        body.type,
        body.max_items,
        material_id=body.material_id,
        topic_id=body.topic_id,
    )
    await session.refresh(artifact)
    return _artifact_read(artifact, None)


@router.get("/artifacts", response_model=ArtifactPage, summary="List my artifacts")
async def artifacts_list(user: CurrentUser, session: Session, page: PageQuery) -> Any:
    """Your summaries, flashcard decks and quizzes, newest first."""
    items, next_cursor = await artifacts.list_owned(session, user.id, page)
    quizzes = await artifacts.quizzes_of(session, [a.id for a in items if a.type == "quiz"])
    return ArtifactPage(
        items=[_artifact_read(a, quizzes.get(a.id)) for a in items], next_cursor=next_cursor
    )


@router.get("/artifacts/{artifact_id}", response_model=ArtifactRead, summary="Get an artifact")
async def artifact_get(artifact_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    """One artifact: its status, and its content once completed (a quiz names its ``quiz_id``
    instead)."""
    artifact = await artifacts.get_owned(session, user.id, artifact_id)
    quizzes = await artifacts.quizzes_of(session, [artifact.id])
    return _artifact_read(artifact, quizzes.get(artifact.id))
