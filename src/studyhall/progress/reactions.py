"""Progress's reactions to other domains' learning facts: each one goes through the XP ledger
(``service.ledger.record``) in the emitting transaction, so XP, streak, achievements and mastery
commit or roll back with the quiz, the review, the question or the lesson."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.kit import events
from studyhall.progress.service.events import (
    CardReviewed,
    Event,
    LessonCompleted,
    QuestionAsked,
    QuizCompleted,
)
from studyhall.progress.service.ledger import record


async def apply(session: AsyncSession, event: Event) -> None:
    await record(session, event)


events.subscribe(QuizCompleted, apply)
events.subscribe(CardReviewed, apply)
events.subscribe(QuestionAsked, apply)
events.subscribe(LessonCompleted, apply)
