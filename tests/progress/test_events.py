"""Progress reports an unlocked achievement (``AchievementUnlocked``) in the transaction that
unlocked it, once, for the domains above it (outgoing webhooks)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.db.engine import Database
from studyhall.kit import events
from studyhall.progress import service as progress
from studyhall.progress.events import AchievementUnlocked
from tests.progress.helpers import define_achievement, learner, scalar

unlocked: list[AchievementUnlocked] = []


async def _record(session: AsyncSession, fact: AchievementUnlocked) -> None:
    unlocked.append(fact)


events.subscribe(AchievementUnlocked, _record)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[list[AchievementUnlocked]]:
    unlocked.clear()
    yield unlocked
    unlocked.clear()


async def test_an_unlock_is_reported_once_with_its_row(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    badge = await define_achievement(owner_db, "first_lessons", "lessons_completed", 2, 10)
    async with db.transaction(ana.id) as session:
        await progress.record(session, progress.LessonCompleted(ana.id, uuid.uuid4()))
    assert unlocked == []
    for _ in range(2):  # the second and third lessons: unlocked by the first of them only
        async with db.transaction(ana.id) as session:
            await progress.record(session, progress.LessonCompleted(ana.id, uuid.uuid4()))
    at = await scalar(
        owner_db,
        "SELECT unlocked_at FROM user_achievements WHERE user_id = :u AND achievement_id = :a",
        u=ana.id,
        a=badge,
    )
    assert unlocked == [
        AchievementUnlocked(
            user_id=ana.id, achievement_id=badge, code="first_lessons", xp_reward=10, at=at
        )
    ]


async def test_a_rolled_back_unlock_is_reported_but_leaves_no_row(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    # The fact travels with its transaction: a subscriber writing in the same session (the
    # webhook outbox) rolls back with it.
    ana = await learner(client, owner_db)
    await define_achievement(owner_db, "one_lesson", "lessons_completed", 1)
    with pytest.raises(RuntimeError):
        async with db.transaction(ana.id) as session:
            await progress.record(session, progress.LessonCompleted(ana.id, uuid.uuid4()))
            assert len(unlocked) == 1
            raise RuntimeError("the lesson's transaction fails after the unlock")
    left = "SELECT count(*) FROM user_achievements WHERE user_id = :u"
    assert await scalar(owner_db, left, u=ana.id) == 0
