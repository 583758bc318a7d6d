"""Study assistant HTTP: materials, search, artifacts, quizzes, flashcards, chat, usage."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from studyhall.accounts.deps import CurrentUser, CurrentUserDetached
from studyhall.config import Settings
from studyhall.db.deps import AppDatabase, Session
from studyhall.db.engine import Database
from studyhall.kit.times import json_default
from studyhall.study import artifacts, chat, learning, materials, quota
from studyhall.study.llm import chat_client
from studyhall.study.models import AiArtifact, AiQuotaCounter, AiUsage
from studyhall.study.quota import UsageCall
from studyhall.study.retrieval import embed_query, search
from studyhall.study.schemas import (
    ArtifactCreate,
    ArtifactRead,
    AttemptRead,
    AttemptSubmit,
    FlashcardRead,
    MaterialRead,
    MessageCreate,
    MessageRead,
    Origin,
    QuestionRead,
    QuestionResult,
    QuizRead,
    QuotaRead,
    ReviewCreate,
    ReviewRead,
    SearchHit,
    SearchRequest,
    ThreadCreate,
    ThreadRead,
    UsageRead,
    UsageSummary,
)
from studyhall.study.upload_limit import UploadLimitRoute, file_too_large

router = APIRouter(tags=["study"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


# Materials -------------------------------------------------------------------------------


async def upload_material(
    request: Request,
    user: CurrentUser,
    session: Session,
    file: Annotated[UploadFile, File(description="PDF, DOCX, PPTX, Markdown or plain text")],
    origin: Annotated[Origin, Form()] = "notes",
) -> Any:
    """Upload a file; it is processed in the background (poll ``processing_status``)."""
    settings = _settings(request)
    limit = settings.study_max_upload_bytes
    # Read one byte past the limit: enough to know it is too big without buffering all of it.
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise file_too_large(limit)
    return await materials.upload(session, settings, user, file.filename or "upload", data, origin)


# The body is refused while it arrives once it passes the limit (see ``upload_limit``).
router.add_api_route(
    "/materials",
    upload_material,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=MaterialRead,
    route_class_override=UploadLimitRoute,
)


@router.get("/materials", response_model=list[MaterialRead])
async def list_materials(user: CurrentUser, session: Session) -> Any:
    return await materials.list_owned(session, user.id)


@router.get("/materials/{material_id}", response_model=MaterialRead)
async def get_material(material_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    return await materials.get_owned(session, user.id, material_id)


@router.delete("/materials/{material_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_material(material_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    await materials.soft_delete(session, user, material_id)


@router.post("/search", response_model=list[SearchHit])
async def search_materials(
    body: SearchRequest, request: Request, user: CurrentUserDetached, database: AppDatabase
) -> Any:
    """Hybrid search over the caller's processed materials and the course materials they may
    read. The query is embedded before any transaction opens (it may call a model)."""
    calls: list[UsageCall] = []
    vector, model = await embed_query(_settings(request), body.query, calls)
    async with database.transaction(user.id) as session:
        for call in calls:
            await quota.record_usage(
                session, user.id, "embedding", call.model, call.prompt_tokens, 0, call.status
            )
        hits = await search(
            session,
            user.id,
            body.query,
            k=body.k,
            material_ids=body.material_ids,
            query_vector=vector,
            embedding_model=model,
        )
    out = []
    for hit in hits:
        passage = hit.to_passage()
        out.append(
            SearchHit(
                chunk_id=hit.id,
                material_id=hit.material_id,
                file_name=hit.file_name,
                page=passage.page,
                slide=passage.slide,
                heading=hit.heading,
                text=hit.text,
                score=hit.score,
            )
        )
    return out


# Artifacts -------------------------------------------------------------------------------


async def _artifact_read(session: Session, artifact: AiArtifact) -> ArtifactRead:
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
        payload=None if is_quiz else artifact.payload,
        quiz_id=await artifacts.quiz_of(session, artifact.id) if is_quiz else None,
        created_at=artifact.created_at,
    )


@router.post("/artifacts", status_code=status.HTTP_202_ACCEPTED, response_model=ArtifactRead)
async def create_artifact(
    body: ArtifactCreate, request: Request, user: CurrentUser, session: Session
) -> Any:
    """Queue a summary, flashcard deck or quiz of a material or a topic (counts against the AI
    quota)."""
    artifact = await artifacts.create(
        session,
        _database(request),
        _settings(request),
        user,
        body.type,
        body.max_items,
        material_id=body.material_id,
        topic_id=body.topic_id,
    )
    await session.refresh(artifact)
    return await _artifact_read(session, artifact)


@router.get("/artifacts", response_model=list[ArtifactRead])
async def list_artifacts(user: CurrentUser, session: Session) -> Any:
    return [await _artifact_read(session, a) for a in await artifacts.list_owned(session, user.id)]


@router.get("/artifacts/{artifact_id}", response_model=ArtifactRead)
async def get_artifact(artifact_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    return await _artifact_read(session, await artifacts.get_owned(session, user.id, artifact_id))


# Quizzes ---------------------------------------------------------------------------------


def _question(q: Any) -> QuestionRead:
    return QuestionRead(
        id=q.id, position=q.position, question_text=q.question_text, options=q.options
    )


@router.get("/quizzes/{quiz_id}", response_model=QuizRead)
async def get_quiz(quiz_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    """The questions and options; correct answers are revealed only after submission."""
    quiz = await learning.get_quiz(session, user.id, quiz_id)
    items = await learning.questions(session, quiz.id)
    return QuizRead(
        id=quiz.id,
        title=quiz.title,
        material_id=quiz.material_id,
        topic_id=quiz.topic_id,
        questions=[_question(q) for q in items],
    )


def _attempt(attempt: Any, **extra: Any) -> AttemptRead:
    return AttemptRead(
        id=attempt.id,
        quiz_id=attempt.quiz_id,
        question_count=attempt.question_count,
        started_at=attempt.started_at,
        completed_at=attempt.completed_at,
        correct_count=attempt.correct_count,
        score_percentage=attempt.score_percentage,
        **extra,
    )


@router.post(
    "/quizzes/{quiz_id}/attempts", status_code=status.HTTP_201_CREATED, response_model=AttemptRead
)
async def start_attempt(quiz_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    attempt = await learning.start_attempt(session, user, quiz_id)
    await session.refresh(attempt)
    items = await learning.questions(session, quiz_id)
    return _attempt(attempt, questions=[_question(q) for q in items])


def _results(items: Any, answers: dict[str, str]) -> list[QuestionResult]:
    return [
        QuestionResult(
            **_question(q).model_dump(),
            chosen=answers.get(str(q.id)),
            correct_answer=q.correct_answer,
            is_correct=answers.get(str(q.id)) == q.correct_answer,
            explanation=q.explanation,
            citations=q.citations,
        )
        for q in items
    ]


@router.post("/quiz-attempts/{attempt_id}/submit", response_model=AttemptRead)
async def submit_attempt(
    attempt_id: uuid.UUID, body: AttemptSubmit, user: CurrentUser, session: Session
) -> Any:
    """Score on the server; the answer key and explanations come back with the score."""
    attempt, items = await learning.submit(session, user, attempt_id, body.answers)
    return _attempt(attempt, results=_results(items, attempt.answers))


@router.get("/quiz-attempts/{attempt_id}", response_model=AttemptRead)
async def get_attempt(attempt_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    attempt = await learning.get_attempt(session, user.id, attempt_id)
    items = await learning.questions(session, attempt.quiz_id)
    if attempt.completed_at is None:
        return _attempt(attempt, questions=[_question(q) for q in items])
    return _attempt(attempt, results=_results(items, attempt.answers))


# Flashcards ------------------------------------------------------------------------------


@router.get("/flashcards", response_model=list[FlashcardRead])
async def list_flashcards(user: CurrentUser, session: Session) -> Any:
    return await learning.list_cards(session, user.id)


@router.get("/flashcards/due", response_model=list[FlashcardRead])
async def due_flashcards(
    user: CurrentUser, session: Session, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> Any:
    """Cards whose FSRS due time has come, most overdue first."""
    return await learning.due_cards(session, user.id, datetime.now(UTC), limit)


@router.post(
    "/flashcards/{card_id}/reviews", status_code=status.HTTP_201_CREATED, response_model=ReviewRead
)
async def review_flashcard(
    card_id: uuid.UUID, body: ReviewCreate, user: CurrentUser, session: Session
) -> Any:
    card, entry = await learning.review(session, user, card_id, body.rating, body.duration_ms)
    await session.refresh(card)
    return ReviewRead(
        card=FlashcardRead.model_validate(card),
        review_id=entry.id,
        rating=entry.rating,
        duration_ms=entry.duration_ms,
        reviewed_at=entry.reviewed_at,
    )


@router.delete("/flashcards/{card_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_flashcard(card_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    await learning.delete_card(session, user, card_id)


# Chat ------------------------------------------------------------------------------------


@router.post("/chat/threads", status_code=status.HTTP_201_CREATED, response_model=ThreadRead)
async def create_thread(body: ThreadCreate, user: CurrentUser, session: Session) -> Any:
    thread = await chat.create_thread(session, user, body.title, body.topic_id)
    await session.refresh(thread)
    return thread


@router.get("/chat/threads", response_model=list[ThreadRead])
async def list_threads(user: CurrentUser, session: Session) -> Any:
    return await chat.list_threads(session, user.id)


@router.delete("/chat/threads/{thread_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_thread(thread_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    await chat.delete_thread(session, user, thread_id)


@router.get("/chat/threads/{thread_id}/messages", response_model=list[MessageRead])
async def list_messages(thread_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    thread = await chat.get_thread(session, user.id, thread_id)
    return await chat.messages(session, thread.id)


@router.post(
    "/chat/threads/{thread_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageRead,
)
async def ask(
    thread_id: uuid.UUID,
    body: MessageCreate,
    request: Request,
    user: CurrentUserDetached,
    database: AppDatabase,
) -> Any:
    """Ask a question; the answer is grounded in your materials and cites them."""
    return await chat.ask(
        database, _settings(request), user, thread_id, body.content, body.material_ids
    )


@router.post("/chat/threads/{thread_id}/messages/stream")
async def ask_streaming(
    thread_id: uuid.UUID,
    body: MessageCreate,
    request: Request,
    user: CurrentUserDetached,
    database: AppDatabase,
) -> EventSourceResponse:
    """Like the plain ask, as server-sent events: ``token`` …, then ``done`` with the message."""
    settings = _settings(request)
    turn = await chat.open_turn(
        database, settings, user, thread_id, body.content, body.material_ids
    )
    # The question commits before the body streams; the stream saves the answer in a
    # transaction of its own.
    events = chat.stream(database, settings, turn, chat_client(settings))
    return EventSourceResponse(_json_events(events))


async def _json_events(events: Any) -> Any:
    async for event in events:
        yield {"event": event["event"], "data": json.dumps(event["data"], default=json_default)}


# Usage -----------------------------------------------------------------------------------


@router.get("/ai/usage", response_model=UsageSummary)
async def my_usage(user: CurrentUser, session: Session) -> Any:
    """Your AI quota counters and the last 50 metered calls."""
    counters = (
        await session.scalars(
            select(AiQuotaCounter)
            .where(AiQuotaCounter.user_id == user.id)
            .order_by(AiQuotaCounter.period_start.desc(), AiQuotaCounter.period)
            .limit(4)
        )
    ).all()
    rows = (
        await session.scalars(
            select(AiUsage)
            .where(AiUsage.user_id == user.id)
            .order_by(AiUsage.created_at.desc(), AiUsage.id)
            .limit(50)
        )
    ).all()
    return UsageSummary(
        quotas=[
            QuotaRead(
                period=c.period,
                period_start=c.period_start.isoformat(),
                limit_tokens=c.limit_tokens,
                used_tokens=c.used_tokens,
                reserved_tokens=c.reserved_tokens,
            )
            for c in counters
        ],
        recent=[UsageRead.model_validate(r) for r in rows],
    )
