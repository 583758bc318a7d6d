"""Learning facts the study assistant emits (``kit.events``) inside its own transaction:
a quiz completed, a card reviewed, a question asked. Progress turns them into XP and mastery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class QuizAnswer:
    """One answered question: the concept it tests (its key phrase) and whether it was right."""

    concept: str
    correct: bool


@dataclass(frozen=True)
class QuizTopic:
    """The taxonomy of a topic quiz, for mastery: topic, its subject's name, its difficulty."""

    topic_id: uuid.UUID
    subject: str
    difficulty_level: int | None


@dataclass(frozen=True)
class QuizCompleted:
    user_id: uuid.UUID
    quiz_id: uuid.UUID
    attempt_id: uuid.UUID
    score_percentage: Decimal
    at: datetime = field(default_factory=_now)
    answers: tuple[QuizAnswer, ...] = ()
    topic: QuizTopic | None = None


@dataclass(frozen=True)
class CardTopic:
    """The topic of a reviewed card (its deck's topic) and how well the learner holds the topic's
    reviewed cards: their mean FSRS retrievability a day after this review."""

    topic_id: uuid.UUID
    retrievability: float
    cards: int


@dataclass(frozen=True)
class CardReviewed:
    user_id: uuid.UUID
    card_id: uuid.UUID
    rating: int
    at: datetime = field(default_factory=_now)
    topic: CardTopic | None = None


@dataclass(frozen=True)
class QuestionAsked:
    user_id: uuid.UUID
    message_id: uuid.UUID
    at: datetime = field(default_factory=_now)
