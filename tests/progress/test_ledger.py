"""The XP ledger: replays pay once (with real concurrency), rules, caps, append-only."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from studyhall.db.engine import Database
from studyhall.progress import service as progress
from studyhall.progress.service import rules
from tests.courses.helpers import course_tree
from tests.courses.helpers import sign_up as sign_up_actor
from tests.progress.helpers import define_achievement, learner, rows, scalar

REPLAYS = 20


async def _record(db: Database, user_id: uuid.UUID, event: progress.Event) -> progress.Recorded:
    async with db.transaction(user_id) as session:
        return await progress.record(session, event)


async def test_one_quiz_event_replayed_concurrently_pays_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    badge = await define_achievement(owner_db, "first_pass", "quizzes_passed", 1, xp_reward=5)
    event = progress.QuizCompleted(
        user_id=ana.id, quiz_id=uuid.uuid4(), attempt_id=uuid.uuid4(), score_percentage=Decimal(80)
    )
    results = await asyncio.gather(*(_record(db, ana.id, event) for _ in range(REPLAYS)))

    assert sorted(r.xp for r in results) == [0] * (REPLAYS - 1) + [40 + 10 + 5]
    ledger = await rows(
        owner_db,
        "SELECT source_type, reason, xp_amount FROM xp_logs WHERE user_id = :u ORDER BY reason",
        u=ana.id,
    )
    assert [tuple(r) for r in ledger] == [
        ("achievement", "achievement_unlocked", 5),
        ("quiz", "quiz_attempted", 0),
        ("quiz", "quiz_completed", 40),
        ("quiz", "quiz_passed", 10),
    ]
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM user_achievements WHERE user_id = :u AND achievement_id = :a",
            u=ana.id,
            a=badge,
        )
        == 1
    )
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM notifications "
            "WHERE user_id = :u AND type = 'achievement_unlocked'",
            u=ana.id,
        )
        == 1
    )
    boards = await rows(
        owner_db, "SELECT period_type, xp_total FROM leaderboard_cache WHERE user_id = :u", u=ana.id
    )
    assert sorted(tuple(r) for r in boards) == [("monthly", 55), ("weekly", 55)]


async def test_a_lesson_completed_twenty_times_at_once_pays_once(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    tutor = await sign_up_actor(client, "tutor")
    tree = await course_tree(client, tutor, lessons=1, lesson_status="preview")
    lesson = tree["lessons"][0]
    ben = await learner(client, owner_db)
    await define_achievement(owner_db, "first_lesson", "lessons_completed", 1)
    responses = await asyncio.gather(
        *(
            client.put(f"/api/v1/lessons/{lesson}/completion", headers=ben.headers)
            for _ in range(REPLAYS)
        )
    )
    assert {r.status_code for r in responses} == {200}
    assert (
        await scalar(owner_db, "SELECT sum(xp_amount) FROM xp_logs WHERE user_id = :u", u=ben.id)
        == rules.LESSON_XP
    )
    assert (
        await scalar(
            owner_db, "SELECT count(*) FROM user_achievements WHERE user_id = :u", u=ben.id
        )
        == 1
    )
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM notifications "
            "WHERE user_id = :u AND type = 'achievement_unlocked'",
            u=ben.id,
        )
        == 1
    )
    # Uncompleting and completing again pays nothing more.
    assert (
        await client.delete(f"/api/v1/lessons/{lesson}/completion", headers=ben.headers)
    ).status_code in (200, 204)
    again = await client.put(f"/api/v1/lessons/{lesson}/completion", headers=ben.headers)
    assert again.status_code == 200
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM xp_logs WHERE user_id = :u AND source_type = 'lesson'",
            u=ben.id,
        )
        == 1
    )


async def test_quiz_xp_follows_the_score_and_questions_are_capped_per_local_day(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    cleo = await learner(client, owner_db, "Asia/Kathmandu")
    half = await _record(
        db,
        cleo.id,
        progress.QuizCompleted(
            user_id=cleo.id,
            quiz_id=uuid.uuid4(),
            attempt_id=uuid.uuid4(),
            score_percentage=Decimal("50.00"),
        ),
    )
    assert half.xp == rules.QUIZ_MAX_XP // 2
    paid = [
        (await _record(db, cleo.id, progress.QuestionAsked(cleo.id, uuid.uuid4()))).xp
        for _ in range(rules.QUESTIONS_PAID_PER_DAY + 2)
    ]
    assert paid == [rules.QUESTION_XP] * rules.QUESTIONS_PAID_PER_DAY + [0, 0]
    # Every question is recorded, paid or not.
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM xp_logs WHERE user_id = :u AND source_type = 'doubt'",
            u=cleo.id,
        )
        == rules.QUESTIONS_PAID_PER_DAY + 2
    )


async def test_the_api_role_cannot_change_or_remove_ledger_rows(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    dan = await learner(client, owner_db)
    await _record(db, dan.id, progress.LessonCompleted(dan.id, uuid.uuid4()))
    for statement in (
        "UPDATE xp_logs SET xp_amount = 1000 WHERE user_id = :u",
        "DELETE FROM xp_logs WHERE user_id = :u",
        "TRUNCATE xp_logs",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with db.transaction(dan.id) as session:
                await session.execute(text(statement), {"u": dan.id})
    assert (
        await scalar(owner_db, "SELECT sum(xp_amount) FROM xp_logs WHERE user_id = :u", u=dan.id)
        == rules.LESSON_XP
    )


async def test_a_learner_sees_only_their_own_ledger(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    eve = await learner(client, owner_db)
    fay = await learner(client, owner_db)
    await _record(db, eve.id, progress.LessonCompleted(eve.id, uuid.uuid4()))
    async with db.transaction(fay.id) as session:
        assert await session.scalar(text("SELECT count(*) FROM xp_logs")) == 0
