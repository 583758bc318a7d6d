"""Quizzes scored on the server: questions without their answers, attempts, one scoring per
attempt, and the ``QuizCompleted`` fact progress turns into XP and mastery."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.courses import service as courses
from studyhall.kit import events
from studyhall.kit.errors import Conflict, NotFound, Unprocessable
from studyhall.study.events import QuizAnswer, QuizCompleted, QuizTopic
from studyhall.study.models import (
    Quiz,
    QuizAttempt,
    QuizQuestion,
    StudyEvent,
)


async def get_quiz(session: AsyncSession, user_id: uuid.UUID, quiz_id: uuid.UUID) -> Quiz:
    quiz = await session.get(Quiz, quiz_id)
    # NULL owner = a platform quiz, open to everyone.
    if quiz is None or quiz.deleted_at is not None or quiz.user_id not in (None, user_id):
        raise NotFound("No such quiz.", code="quiz_not_found")
    return quiz


async def questions(session: AsyncSession, quiz_id: uuid.UUID) -> Sequence[QuizQuestion]:
    return (
        await session.scalars(
            select(QuizQuestion)
            .where(QuizQuestion.quiz_id == quiz_id)
            .order_by(QuizQuestion.position)
        )
    ).all()


async def start_attempt(session: AsyncSession, user: User, quiz_id: uuid.UUID) -> QuizAttempt:
    quiz = await get_quiz(session, user.id, quiz_id)
    count = await session.scalar(
        select(func.count()).select_from(QuizQuestion).where(QuizQuestion.quiz_id == quiz.id)
    )
    attempt = QuizAttempt(user_id=user.id, quiz_id=quiz.id, question_count=count or 0)
    session.add(attempt)
    await session.flush()
    await audit.record(session, user.id, "quiz_attempt.start", "quiz_attempt", attempt.id)
    return attempt


async def get_attempt(
    session: AsyncSession, user_id: uuid.UUID, attempt_id: uuid.UUID
) -> QuizAttempt:
    attempt = await session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user_id:
        raise NotFound("No such quiz attempt.", code="attempt_not_found")
    return attempt


def _check_answers(items: Sequence[QuizQuestion], answers: dict[uuid.UUID, str]) -> None:
    by_id = {q.id: q for q in items}
    unknown = [str(qid) for qid in answers if qid not in by_id]
    if unknown:
        raise Unprocessable(
            f"These questions are not in this quiz: {', '.join(unknown)}.", code="unknown_question"
        )
    for qid, answer in answers.items():
        if answer not in by_id[qid].options:
            raise Unprocessable(
                f"The answer to question {qid} is not one of its options.", code="invalid_option"
            )


def score(items: Sequence[QuizQuestion], answers: dict[uuid.UUID, str]) -> tuple[int, Decimal]:
    correct = sum(1 for q in items if answers.get(q.id) == q.correct_answer)
    if not items:
        return 0, Decimal("0.00")
    percentage = (Decimal(100 * correct) / Decimal(len(items))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return correct, percentage


async def _quiz_topic(session: AsyncSession, quiz_id: uuid.UUID) -> QuizTopic | None:
    """The taxonomy of a topic quiz: a question's correct answer is the concept it tests."""
    topic_id = await session.scalar(select(Quiz.topic_id).where(Quiz.id == quiz_id))
    if topic_id is None:
        return None
    found = await courses.topic_subject_and_difficulty(session, topic_id)
    return None if found is None else QuizTopic(topic_id, found[0], found[1])


async def submit(
    session: AsyncSession, user: User, attempt_id: uuid.UUID, answers: dict[uuid.UUID, str]
) -> tuple[QuizAttempt, Sequence[QuizQuestion]]:
    attempt = await get_attempt(session, user.id, attempt_id)
    items = await questions(session, attempt.quiz_id)
    _check_answers(items, answers)
    correct, percentage = score(items, answers)
    # Conditional update: of two concurrent submissions exactly one scores the attempt.
    done = await session.scalar(
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.completed_at.is_(None))
        .values(
            answers={str(k): v for k, v in answers.items()},
            correct_count=correct,
            score_percentage=percentage,
            completed_at=func.now(),
        )
        .returning(QuizAttempt.id)
    )
    if done is None:
        raise Conflict("This attempt was already submitted.", code="attempt_already_submitted")
    await session.execute(
        insert(StudyEvent).values(
            user_id=user.id,
            kind="quiz_completed",
            reference_id=attempt.id,
            payload={
                "quiz_id": str(attempt.quiz_id),
                "correct": correct,
                "questions": len(items),
                "score_percentage": float(percentage),
            },
        )
    )
    # XP, streak, achievements and mastery are progress's reactions, applied in this transaction.
    await events.emit(
        session,
        QuizCompleted(
            user_id=user.id,
            quiz_id=attempt.quiz_id,
            attempt_id=attempt.id,
            score_percentage=percentage,
            answers=tuple(
                QuizAnswer(q.correct_answer, answers.get(q.id) == q.correct_answer) for q in items
            ),
            topic=await _quiz_topic(session, attempt.quiz_id),
        ),
    )
    await audit.record(
        session,
        user.id,
        "quiz_attempt.submit",
        "quiz_attempt",
        attempt.id,
        {"score_percentage": float(percentage), "correct": correct},
    )
    await session.refresh(attempt)
    return attempt, items
