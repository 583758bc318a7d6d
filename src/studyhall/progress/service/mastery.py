"""Mastery per topic and per concept, from quiz answers, with the Elo rating system as used for
adaptive practice (Pelánek, "Applications of the Elo rating system in adaptive educational
systems", Computers & Education 98, 2016).

Why Elo: it updates one number per learner and item group after every answer, needs no
training data or batch fitting (unlike IRT or knowledge tracing), is stable for new learners
through its uncertainty function, and its estimate is a probability, so mastery is naturally
in [0, 1]. The learner's ability ``theta`` (logits) moves by ``K(n) * (correct - P)`` with
``P = sigmoid(theta - d)``; ``K(n) = 0.8 / (1 + 0.05 n)`` shrinks as answers accumulate. The
question's difficulty ``d`` comes from its topic's ``difficulty_level`` (1 to 5, centred on 3;
unknown = 0): questions carry no difficulty of their own yet. Mastery is ``sigmoid(theta)``: the
chance of answering a question of average difficulty.

A topic's mastery also blends in its flashcards: the mean FSRS retrievability of the learner's
reviewed cards of the topic, taken a day after the latest review (right after a review every
card is at retrievability 1 whatever the answer; a day later a card answered "Again" has
faded and one answered "Easy" has not). The two estimates are weighted by how much evidence
each has: quiz answers against card reviews.

A concept is the key phrase a question tests (its correct answer), within the topic's subject.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.progress.models import LearningProfile, TopicProgress

K_BASE = 0.8
K_DECAY = 0.05
DIFFICULTY_STEP = 0.5


@dataclass(frozen=True)
class Answer:
    concept: str
    correct: bool


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def difficulty(level: int | None) -> float:
    return 0.0 if level is None else (level - 3) * DIFFICULTY_STEP


def update(ability: float, seen: int, correct: bool, item_difficulty: float) -> float:
    expected = sigmoid(ability - item_difficulty)
    k = K_BASE / (1 + K_DECAY * seen)
    return ability + k * ((1.0 if correct else 0.0) - expected)


def replay(
    ability: float, seen: int, answers: Sequence[bool], item_difficulty: float
) -> tuple[float, int]:
    for correct in answers:
        ability = update(ability, seen, correct, item_difficulty)
        seen += 1
    return ability, seen


def score(ability: float) -> float:
    return min(1.0, max(0.0, sigmoid(ability)))


def blend(ability: float, answers: int, retrievability: float | None, reviews: int) -> float:
    """A topic's mastery: the Elo estimate and the cards' retrievability, each weighted by its
    number of interactions (either alone when the other has none)."""
    if retrievability is None or reviews <= 0:
        return score(ability)
    if answers <= 0:
        return min(1.0, max(0.0, retrievability))
    weighted = answers * score(ability) + reviews * retrievability
    return min(1.0, max(0.0, weighted / (answers + reviews)))


async def _topic_row(
    session: AsyncSession, user_id: uuid.UUID, topic_id: uuid.UUID
) -> TopicProgress:
    row = await session.scalar(
        select(TopicProgress).where(
            TopicProgress.user_id == user_id, TopicProgress.topic_id == topic_id
        )
    )
    if row is None:
        row = TopicProgress(
            user_id=user_id,
            topic_id=topic_id,
            ability=0.0,
            total_interactions=0,
            card_reviews=0,
        )
        session.add(row)
    return row


def _rescore(row: TopicProgress, at: datetime) -> None:
    answers = row.total_interactions - row.card_reviews
    mixed = blend(row.ability, answers, row.card_retrievability, row.card_reviews)
    row.mastery_score = Decimal(str(round(mixed, 4)))
    row.last_interaction = row.last_updated = at


async def record_topic(
    session: AsyncSession,
    user_id: uuid.UUID,
    topic_id: uuid.UUID,
    answers: Sequence[Answer],
    level: int | None,
    at: datetime,
) -> TopicProgress:
    """The caller holds the learner's lock, so read-then-write cannot race for one learner."""
    row = await _topic_row(session, user_id, topic_id)
    # The uncertainty function counts quiz answers only: card reviews do not move theta.
    answered = row.total_interactions - row.card_reviews
    ability, seen = replay(row.ability, answered, [a.correct for a in answers], difficulty(level))
    row.ability, row.total_interactions = ability, seen + row.card_reviews
    _rescore(row, at)
    await session.flush()
    return row


async def record_cards(
    session: AsyncSession,
    user_id: uuid.UUID,
    topic_id: uuid.UUID,
    retrievability: float,
    at: datetime,
) -> TopicProgress:
    """One card review of the topic: the cards' retrievability replaces the last one."""
    row = await _topic_row(session, user_id, topic_id)
    row.card_retrievability = min(1.0, max(0.0, retrievability))
    row.card_reviews += 1
    row.total_interactions += 1
    _rescore(row, at)
    await session.flush()
    return row


async def record_concepts(
    session: AsyncSession,
    user_id: uuid.UUID,
    subject: str,
    topic_id: uuid.UUID | None,
    answers: Sequence[Answer],
    level: int | None,
    at: datetime,
) -> list[LearningProfile]:
    by_concept: dict[str, list[bool]] = defaultdict(list)
    for answer in answers:
        by_concept[answer.concept.strip()[:200]].append(answer.correct)
    existing = {
        row.concept: row
        for row in (
            await session.scalars(
                select(LearningProfile).where(
                    LearningProfile.user_id == user_id,
                    LearningProfile.subject == subject[:100],
                    LearningProfile.concept.in_(list(by_concept)),
                )
            )
        ).all()
    }
    rows = []
    for concept, outcomes in by_concept.items():
        row = existing.get(concept)
        if row is None:
            row = LearningProfile(
                user_id=user_id,
                subject=subject[:100],
                concept=concept,
                topic_id=topic_id,
                ability=0.0,
                total_interactions=0,
            )
            session.add(row)
        ability, seen = replay(row.ability, row.total_interactions, outcomes, difficulty(level))
        row.ability, row.total_interactions = ability, seen
        row.mastery_score = round(score(ability), 6)
        row.last_interaction = at
        rows.append(row)
    await session.flush()
    return rows
