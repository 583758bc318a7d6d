"""Progress's public functions for other domains: ``record`` one learning event inside the
caller's transaction."""

from __future__ import annotations

from studyhall.progress.service.events import (
    CardReviewed,
    CardTopic,
    Event,
    LessonCompleted,
    QuestionAsked,
    QuizAnswer,
    QuizCompleted,
    QuizTopic,
    StudyTime,
)
from studyhall.progress.service.ledger import Recorded, record

__all__ = [
    "CardReviewed",
    "CardTopic",
    "Event",
    "LessonCompleted",
    "QuestionAsked",
    "QuizAnswer",
    "QuizCompleted",
    "QuizTopic",
    "Recorded",
    "StudyTime",
    "record",
]
