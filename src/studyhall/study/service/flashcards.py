"""Flashcards scheduled with FSRS: the cards due, a review with its log, and the ``CardReviewed``
fact (with the topic's retrievability) progress turns into XP and mastery."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.audit import service as audit
from studyhall.kit import events
from studyhall.kit.errors import NotFound
from studyhall.kit.paging import PageRequest
from studyhall.study.events import CardReviewed, CardTopic
from studyhall.study.models import (
    AiArtifact,
    Flashcard,
    FlashcardReview,
)
from studyhall.study.service.listing import keyset_page

_SCHEDULER = Scheduler()
# Right after a review every card is at retrievability 1, whatever the answer; a day later the
# cards answered "Again" have faded and the others not, which is what topic mastery wants.
RETRIEVABILITY_HORIZON = timedelta(days=1)


async def due_cards(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, limit: int
) -> Sequence[Flashcard]:
    return (
        await session.scalars(
            select(Flashcard)
            .where(
                Flashcard.user_id == user_id,
                Flashcard.deleted_at.is_(None),
                Flashcard.due_at <= now,
            )
            .order_by(Flashcard.due_at, Flashcard.id)
            .limit(limit)
        )
    ).all()


async def due_page(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, page: PageRequest
) -> tuple[list[Flashcard], str | None]:
    """Cards whose due time has come, most overdue first, one page at a time."""
    query = select(Flashcard).where(
        Flashcard.user_id == user_id, Flashcard.deleted_at.is_(None), Flashcard.due_at <= now
    )
    return await keyset_page(
        session, query, (Flashcard.due_at, Flashcard.id), page, _due_key, descending=False
    )


def _due_key(card: Flashcard) -> tuple[datetime, uuid.UUID]:
    return card.due_at, card.id


async def list_cards(
    session: AsyncSession, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[Flashcard], str | None]:
    """The user's cards in the order they were made."""
    query = select(Flashcard).where(Flashcard.user_id == user_id, Flashcard.deleted_at.is_(None))
    return await keyset_page(
        session,
        query,
        (Flashcard.created_at, Flashcard.id),
        page,
        lambda c: (c.created_at, c.id),
        descending=False,
    )


async def review(
    session: AsyncSession, user: User, card_id: uuid.UUID, rating: int, duration_ms: int | None
) -> tuple[Flashcard, FlashcardReview]:
    # The row lock makes concurrent reviews of one card apply one after the other.
    card = await session.scalar(select(Flashcard).where(Flashcard.id == card_id).with_for_update())
    if card is None or card.user_id != user.id or card.deleted_at is not None:
        raise NotFound("No such flashcard.", code="flashcard_not_found")
    now = datetime.now(UTC)
    before = Card.from_dict(card.fsrs_state)  # type: ignore[arg-type]
    after, log = _SCHEDULER.review_card(
        before, Rating(rating), review_datetime=now, review_duration=duration_ms
    )
    state: dict[str, Any] = after.to_dict()  # type: ignore[assignment]
    card.fsrs_state, card.due_at, card.last_reviewed_at = state, after.due, now
    entry = FlashcardReview(
        flashcard_id=card.id,
        user_id=user.id,
        rating=rating,
        reviewed_at=now,
        duration_ms=duration_ms,
        review_log=dict(log.to_dict()),
    )
    session.add(entry)
    await session.flush()
    await events.emit(
        session,
        CardReviewed(
            user_id=user.id,
            card_id=card.id,
            rating=rating,
            at=now,
            topic=await _card_topic(session, user.id, card, now),
        ),
    )
    await audit.record(
        session,
        user.id,
        "flashcard.review",
        "flashcard",
        card.id,
        {"rating": rating, "due_at": after.due},
    )
    return card, entry


async def _card_topic(
    session: AsyncSession, user_id: uuid.UUID, card: Flashcard, now: datetime
) -> CardTopic | None:
    """The topic of the card's deck (the artifact it was made from) and the mean retrievability
    of the learner's reviewed cards of that topic, for topic mastery."""
    if card.artifact_id is None:
        return None
    topic_id = await session.scalar(
        select(AiArtifact.topic_id).where(AiArtifact.id == card.artifact_id)
    )
    if topic_id is None:
        return None
    states = (
        await session.scalars(
            select(Flashcard.fsrs_state)
            .join(AiArtifact, AiArtifact.id == Flashcard.artifact_id)
            .where(
                AiArtifact.topic_id == topic_id,
                Flashcard.user_id == user_id,
                Flashcard.deleted_at.is_(None),
                Flashcard.last_reviewed_at.is_not(None),
            )
        )
    ).all()
    at = now + RETRIEVABILITY_HORIZON
    held = [_SCHEDULER.get_card_retrievability(Card.from_dict(state), at) for state in states]
    if not held:
        return None
    return CardTopic(topic_id, sum(held) / len(held), len(held))


async def delete_card(session: AsyncSession, user: User, card_id: uuid.UUID) -> None:
    card = await session.get(Flashcard, card_id)
    if card is None or card.user_id != user.id or card.deleted_at is not None:
        raise NotFound("No such flashcard.", code="flashcard_not_found")
    card.deleted_at = datetime.now(UTC)
    await audit.record(session, user.id, "flashcard.delete", "flashcard", card.id)
