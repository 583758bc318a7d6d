"""How much XP each learning event earns: the one place these numbers live.

Every rule returns the ledger rows an event writes, as (source_type, reference_id, reason, xp).
The reference is chosen so that an event which must pay once pays once: a replayed or repeated
event hits the ledger's unique key and writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# A quiz pays up to this much, in proportion to its score; passing adds a bonus.
QUIZ_MAX_XP = 50
QUIZ_PASS_PERCENT = Decimal(70)
QUIZ_PASS_BONUS = 10
LESSON_XP = 20
# A flashcard pays once per card and local day, more for an honest recall than a lapse.
REVIEW_XP = {1: 1, 2: 2, 3: 3, 4: 3}
QUESTION_XP = 2
QUESTIONS_PAID_PER_DAY = 10
# Study time: one XP per full minute, within the timer's caps (see config).
XP_PER_STUDY_MINUTE = 1

_REVIEW_DAY = uuid.UUID("5e0c8a47-5f0e-4c55-9a53-1c3f3f7d2b11")


@dataclass(frozen=True)
class Entry:
    source_type: str
    reference_id: uuid.UUID
    reason: str
    xp: int


def quiz(quiz_id: uuid.UUID, attempt_id: uuid.UUID, score_percentage: Decimal) -> list[Entry]:
    """A quiz pays on its first submitted attempt only, so retaking it cannot farm XP; every
    attempt is still recorded (0 XP), so a retake counts as the day's activity and for mastery."""
    score = max(Decimal(0), min(Decimal(100), score_percentage))
    entries = [
        Entry("quiz", attempt_id, "quiz_attempted", 0),
        Entry("quiz", quiz_id, "quiz_completed", round(QUIZ_MAX_XP * score / 100)),
    ]
    if score >= QUIZ_PASS_PERCENT:
        entries.append(Entry("quiz", quiz_id, "quiz_passed", QUIZ_PASS_BONUS))
    return entries


def lesson(lesson_id: uuid.UUID) -> list[Entry]:
    """Completing, uncompleting and completing again pays once."""
    return [Entry("lesson", lesson_id, "lesson_completed", LESSON_XP)]


def review(card_id: uuid.UUID, rating: int, day: date) -> list[Entry]:
    reference = uuid.uuid5(_REVIEW_DAY, f"{card_id}:{day.isoformat()}")
    return [Entry("review", reference, "card_reviewed", REVIEW_XP.get(rating, 1))]


def question(message_id: uuid.UUID, paid_today: int) -> list[Entry]:
    """Questions past the daily cap are still recorded (they count for achievements), at 0 XP."""
    xp = QUESTION_XP if paid_today < QUESTIONS_PAID_PER_DAY else 0
    return [Entry("doubt", message_id, "question_asked", xp)]


def study_time(session_id: uuid.UUID, seconds: int) -> list[Entry]:
    return [Entry("study", session_id, "study_time", (seconds // 60) * XP_PER_STUDY_MINUTE)]
