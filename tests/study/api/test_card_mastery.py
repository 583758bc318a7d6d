"""Topic mastery from flashcards: a deck made for a topic carries it, and each review hands the
learner's retrievability of the topic's cards to progress."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from tests.study.api.conftest import API, Member, sign_up, upload
from tests.study.api.test_learning import LONG_NOTES, _artifact


async def _topic(owner_db: Database) -> uuid.UUID:
    async with owner_db.transaction() as session:
        subject = await session.scalar(
            text("INSERT INTO subjects (name) VALUES ('Biology') RETURNING id")
        )
        topic: uuid.UUID = await session.scalar(
            text("INSERT INTO topics (subject_id, name) VALUES (:s, 'Plants') RETURNING id"),
            {"s": subject},
        )
    return topic


async def _deck(
    client: httpx.AsyncClient, owner_db: Database, member: Member, topic_id: uuid.UUID | None
) -> list[str]:
    material = await upload(client, member, "bio.md", LONG_NOTES)
    artifact = await _artifact(client, member, "flashcards", material["id"], 3)
    if topic_id is not None:  # as a deck asked for by topic is stored
        async with owner_db.transaction() as session:
            await session.execute(
                text("UPDATE ai_artifacts SET topic_id = :t WHERE id = :a"),
                {"t": topic_id, "a": artifact["id"]},
            )
    due = (await client.get(f"{API}/flashcards/due", headers=member.headers)).json()["items"]
    return [card["id"] for card in due]


async def _review_all(
    client: httpx.AsyncClient, member: Member, cards: list[str], rating: int
) -> None:
    for card in cards:
        reviewed = await client.post(
            f"{API}/flashcards/{card}/reviews", headers=member.headers, json={"rating": rating}
        )
        assert reviewed.status_code == 201


async def _topic_rows(owner_db: Database, member: Member) -> list[tuple[object, ...]]:
    async with owner_db.transaction() as session:
        found = await session.execute(
            text(
                "SELECT topic_id, mastery_score, card_retrievability, card_reviews, "
                "total_interactions FROM topic_progress WHERE user_id = :u"
            ),
            {"u": member.id},
        )
    return [tuple(row) for row in found.all()]


async def test_reviews_of_a_topic_deck_move_topic_mastery_by_retrievability(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    topic_id = await _topic(owner_db)
    good = await sign_up(client, "good@example.com")
    poor = await sign_up(client, "poor@example.com")
    untagged = await sign_up(client, "untagged@example.com")
    good_cards = await _deck(client, owner_db, good, topic_id)
    poor_cards = await _deck(client, owner_db, poor, topic_id)
    plain_cards = await _deck(client, owner_db, untagged, None)
    assert len(good_cards) == len(poor_cards) >= 2

    await _review_all(client, good, good_cards, 4)  # Easy
    await _review_all(client, poor, poor_cards, 1)  # Again
    await _review_all(client, untagged, plain_cards, 4)

    ((good_topic, good_mastery, good_r, good_reviews, good_n),) = await _topic_rows(owner_db, good)
    ((_, poor_mastery, poor_r, poor_reviews, _),) = await _topic_rows(owner_db, poor)
    assert good_topic == topic_id
    assert good_reviews == poor_reviews == good_n == len(good_cards)
    # With no quiz answers the topic's mastery is its cards' retrievability.
    assert abs(float(good_mastery) - good_r) < 1e-3  # type: ignore[arg-type]
    assert abs(float(poor_mastery) - poor_r) < 1e-3  # type: ignore[arg-type]
    assert 0.0 < poor_r < good_r <= 1.0  # type: ignore[operator]
    # A deck without a topic feeds no topic's mastery.
    assert await _topic_rows(owner_db, untagged) == []
