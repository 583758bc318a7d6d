"""Quizzes: read a quiz, start an attempt, submit it for scoring on the server."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, status

from studyhall.accounts.deps import CurrentUser
from studyhall.db.deps import Session
from studyhall.study.models import QuizAttempt, QuizQuestion
from studyhall.study.schemas import (
    AttemptRead,
    AttemptSubmit,
    QuestionRead,
    QuestionResult,
    QuizRead,
)
from studyhall.study.service import quizzes

router = APIRouter()


def _question(q: QuizQuestion) -> QuestionRead:
    return QuestionRead(
        id=q.id, position=q.position, question_text=q.question_text, options=q.options
    )


def _attempt(attempt: QuizAttempt, **extra: Any) -> AttemptRead:
    return AttemptRead(
        id=attempt.id,
        quiz_id=attempt.quiz_id,
        question_count=attempt.question_count,
        started_at=attempt.started_at,
        completed_at=attempt.completed_at,
        correct_count=attempt.correct_count,
        score_percentage=(
            None if attempt.score_percentage is None else float(attempt.score_percentage)
        ),
        **extra,
    )


def _results(items: Sequence[QuizQuestion], answers: dict[str, str]) -> list[QuestionResult]:
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


@router.get("/quizzes/{quiz_id}", response_model=QuizRead, summary="Get a quiz")
async def quiz_get(quiz_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    """The questions and options; correct answers are revealed only after submission."""
    quiz = await quizzes.get_quiz(session, user.id, quiz_id)
    items = await quizzes.questions(session, quiz.id)
    return QuizRead(
        id=quiz.id,
        title=quiz.title,
        material_id=quiz.material_id,
        topic_id=quiz.topic_id,
        questions=[_question(q) for q in items],
    )


@router.post(
    "/quizzes/{quiz_id}/attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=AttemptRead,
    summary="Start a quiz attempt",
)
async def quiz_attempts_create(quiz_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    """Start answering the quiz; the attempt lists its questions without the answers."""
    attempt = await quizzes.start_attempt(session, user, quiz_id)
    await session.refresh(attempt)
    items = await quizzes.questions(session, quiz_id)
    return _attempt(attempt, questions=[_question(q) for q in items])


@router.post(
    "/quiz-attempts/{attempt_id}/submit",
    response_model=AttemptRead,
    summary="Submit a quiz attempt for scoring",
)
async def quiz_attempt_submit(
    attempt_id: uuid.UUID, body: AttemptSubmit, user: CurrentUser, session: Session
) -> Any:
    """Score on the server, once (409 ``attempt_already_submitted`` after); the answer key and
    explanations come back with the score."""
    attempt, items = await quizzes.submit(session, user, attempt_id, body.answers)
    return _attempt(attempt, results=_results(items, attempt.answers))


@router.get("/quiz-attempts/{attempt_id}", response_model=AttemptRead, summary="Get a quiz attempt")
async def quiz_attempt_get(attempt_id: uuid.UUID, user: CurrentUser, session: Session) -> Any:
    """An attempt: its questions while open, its results and score once submitted."""
    attempt = await quizzes.get_attempt(session, user.id, attempt_id)
    items = await quizzes.questions(session, attempt.quiz_id)
    if attempt.completed_at is None:
        return _attempt(attempt, questions=[_question(q) for q in items])
    return _attempt(attempt, results=_results(items, attempt.answers))
