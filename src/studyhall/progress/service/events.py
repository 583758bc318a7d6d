"""The learning events progress applies: its own timer's ``StudyTime`` and the facts the course
store and the study assistant emit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from studyhall.courses.events import LessonCompleted
from studyhall.study.events import (
    CardReviewed,
    CardTopic,
    QuestionAsked,
    QuizAnswer,
    QuizCompleted,
    QuizTopic,
)

__all__ = [
    "CardReviewed",
    "CardTopic",
    "Event",
    "LessonCompleted",
    "QuestionAsked",
    "QuizAnswer",
    "QuizCompleted",
    "QuizTopic",
    "StudyTime",
]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StudyTime:
    """A closed timer session; ``at`` is when it started, so it counts for the day it began."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    seconds: int
    at: datetime = field(default_factory=_now)


Event = QuizCompleted | LessonCompleted | CardReviewed | QuestionAsked | StudyTime
