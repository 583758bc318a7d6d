"""Mastery per topic and concept (Elo) from quiz answers; replays do not move it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from studyhall.db.engine import Database
from studyhall.progress import service as progress
from studyhall.progress.service import mastery, rules
from tests.progress.helpers import learner, rows


def test_elo_moves_towards_the_answers_and_stays_a_probability() -> None:
    ability, _ = mastery.replay(0.0, 0, [True] * 50, mastery.difficulty(5))
    assert 0.9 < mastery.score(ability) < 1.0
    low, _ = mastery.replay(0.0, 0, [False] * 50, mastery.difficulty(1))
    assert 0.0 < mastery.score(low) < 0.1
    # Later answers move the estimate less: the uncertainty function.
    first = mastery.update(0.0, 0, True, 0.0)
    later = mastery.update(0.0, 40, True, 0.0)
    assert first > later > 0.0
    # Answering a hard question right moves it more than an easy one.
    assert mastery.update(0.0, 0, True, 1.0) > mastery.update(0.0, 0, True, -1.0)


async def _topic(owner_db: Database) -> uuid.UUID:
    async with owner_db.transaction() as session:
        subject = await session.scalar(
            text("INSERT INTO subjects (name) VALUES ('Biology') RETURNING id")
        )
        topic: uuid.UUID = await session.scalar(
            text(
                "INSERT INTO topics (subject_id, name, difficulty_level) "
                "VALUES (:s, 'Cell biology', 4) RETURNING id"
            ),
            {"s": subject},
        )
    return topic


async def test_quiz_answers_update_topic_and_concept_mastery_once_per_attempt(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    topic_id = await _topic(owner_db)
    event = progress.QuizCompleted(
        ana.id,
        uuid.uuid4(),
        uuid.uuid4(),
        Decimal("66.67"),
        answers=(
            progress.QuizAnswer("Krebs cycle", False),
            progress.QuizAnswer("mitochondria", True),
            progress.QuizAnswer("ribosome", True),
        ),
        topic=progress.QuizTopic(topic_id, "Biology", 4),
    )
    for _ in range(3):  # the same attempt replayed
        async with db.transaction(ana.id) as session:
            await progress.record(session, event)
    topic = await rows(
        owner_db,
        "SELECT mastery_score, total_interactions FROM topic_progress WHERE user_id = :u",
        u=ana.id,
    )
    assert len(topic) == 1 and topic[0][1] == 3 and Decimal(0) < topic[0][0] < Decimal(1)
    concepts = await rows(
        owner_db,
        "SELECT concept, mastery_score, total_interactions FROM learning_profiles "
        "WHERE user_id = :u AND subject = 'Biology' ORDER BY mastery_score",
        u=ana.id,
    )
    assert [(c, n) for c, _, n in concepts] == [
        ("Krebs cycle", 1),
        ("mitochondria", 1),
        ("ribosome", 1),
    ]
    assert concepts[0][1] < 0.5 < concepts[1][1]
    # A retake (a new attempt) moves mastery again; it pays only the pass bonus the first
    # attempt had not earned, once.
    retake = progress.QuizCompleted(
        ana.id,
        event.quiz_id,
        uuid.uuid4(),
        Decimal(100),
        answers=event.answers[:1],
        topic=event.topic,
    )
    async with db.transaction(ana.id) as session:
        recorded = await progress.record(session, retake)
    assert recorded.xp == rules.QUIZ_PASS_BONUS
    again = await rows(
        owner_db,
        "SELECT total_interactions FROM topic_progress WHERE user_id = :u",
        u=ana.id,
    )
    assert again[0][0] == 4


def test_blend_weighs_quiz_ability_and_card_retrievability_by_evidence() -> None:
    assert mastery.blend(0.0, 4, None, 0) == 0.5  # no cards: the Elo estimate
    assert mastery.blend(0.0, 0, 0.9, 3) == 0.9  # no answers: the cards
    assert mastery.blend(0.0, 1, 0.9, 3) == (0.5 + 3 * 0.9) / 4


async def test_card_reviews_of_a_topic_blend_into_its_mastery(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    topic_id = await _topic(owner_db)
    quiz = progress.QuizCompleted(
        ana.id,
        uuid.uuid4(),
        uuid.uuid4(),
        Decimal(0),
        answers=(progress.QuizAnswer("Krebs cycle", False),) * 2,
        topic=progress.QuizTopic(topic_id, "Biology", 3),
    )
    card = uuid.uuid4()
    async with db.transaction(ana.id) as session:
        await progress.record(session, quiz)
        await progress.record(
            session,
            progress.CardReviewed(ana.id, card, 4, topic=progress.CardTopic(topic_id, 0.95, 1)),
        )
        # A second review of the card the same day pays nothing but still moves mastery.
        await progress.record(
            session,
            progress.CardReviewed(ana.id, card, 1, topic=progress.CardTopic(topic_id, 0.7, 1)),
        )
    ((score, ability, total, reviews, held),) = await rows(
        owner_db,
        "SELECT mastery_score, ability, total_interactions, card_reviews, card_retrievability "
        "FROM topic_progress WHERE user_id = :u",
        u=ana.id,
    )
    assert (total, reviews, held) == (4, 2, 0.7)
    expected = mastery.blend(ability, 2, 0.7, 2)
    assert abs(float(score) - expected) < 1e-4
    assert mastery.score(ability) < float(score) < 0.7
    # A later quiz answer moves theta as the third answer, not the fifth interaction.
    ability_before = ability
    async with db.transaction(ana.id) as session:
        await progress.record(
            session,
            progress.QuizCompleted(
                ana.id,
                quiz.quiz_id,
                uuid.uuid4(),
                Decimal(100),
                answers=(progress.QuizAnswer("Krebs cycle", True),),
                topic=quiz.topic,
            ),
        )
    ((after, total_after),) = await rows(
        owner_db,
        "SELECT ability, total_interactions FROM topic_progress WHERE user_id = :u",
        u=ana.id,
    )
    assert total_after == 5
    assert after == mastery.update(ability_before, 2, True, mastery.difficulty(3))


async def test_mastery_outside_zero_to_one_is_refused_by_the_database(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ben = await learner(client, owner_db)
    topic_id = await _topic(owner_db)
    for table, values in (
        ("topic_progress", "(:u, :t, 1.5)"),
        ("learning_profiles", "(:u, 'Biology', 'x', -0.1)"),
    ):
        columns = (
            "(user_id, topic_id, mastery_score)"
            if table == "topic_progress"
            else "(user_id, subject, concept, mastery_score)"
        )
        with pytest.raises(IntegrityError, match="mastery_range"):
            async with db.transaction(ben.id) as session:
                await session.execute(
                    text(f"INSERT INTO {table} {columns} VALUES {values}"),
                    {"u": ben.id, "t": topic_id},
                )
