"""Streak freezes: bought with XP, earned weekly, spent on one missed day, all in the ledger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.db.rls import cross_users as system_session
from studyhall.progress import service as progress
from studyhall.progress.service import freezes, streaks
from tests.progress.helpers import learner, rows, scalar

# 10:00 in Lord Howe (UTC+11 in March, daylight time).
DAY1 = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


async def _lesson(db: Database, user_id: uuid.UUID, at: datetime) -> None:
    async with db.transaction(user_id) as session:
        await progress.record(session, progress.LessonCompleted(user_id, uuid.uuid4(), at=at))


async def test_a_freeze_costs_xp_and_lowers_the_balance_not_the_board(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    poor = await client.post("/api/v1/me/streak-freezes", headers=ana.headers)
    assert (poor.status_code, poor.json()["code"]) == (409, "not_enough_xp")
    for _ in range(5):
        await _lesson(db, ana.id, datetime.now(UTC))
    bought = await client.post("/api/v1/me/streak-freezes", headers=ana.headers)
    assert bought.status_code == 201 and bought.json()["freezes_available"] == 1
    assert (
        await scalar(owner_db, "SELECT sum(xp_amount) FROM xp_logs WHERE user_id = :u", u=ana.id)
        == 0
    )
    board = await rows(
        owner_db, "SELECT period_type, xp_total FROM leaderboard_cache WHERE user_id = :u", u=ana.id
    )
    assert sorted(tuple(r) for r in board) == [("monthly", 100), ("weekly", 100)]
    again = await client.post("/api/v1/me/streak-freezes", headers=ana.headers)
    assert (again.status_code, again.json()["code"]) == (409, "not_enough_xp")


async def _give_freeze(owner_db: Database, user_id: uuid.UUID) -> None:
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE user_streaks SET freezes_available = 1 WHERE user_id = :u"),
            {"u": user_id},
        )


async def test_the_midnight_job_spends_a_freeze_on_one_missed_day(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ben = await learner(client, owner_db, "Australia/Lord_Howe")
    await _lesson(db, ben.id, DAY1)
    await _lesson(db, ben.id, DAY1 + timedelta(days=1))
    await _give_freeze(owner_db, ben.id)
    # Day 3 passes without study; shortly after Lord Howe's midnight ending it, the job runs.
    async with db.transaction() as session:
        await system_session(session)
        await streaks.break_missed(session, DAY1 + timedelta(days=2, hours=14, minutes=10))
        await streaks.break_missed(session, DAY1 + timedelta(days=2, hours=14, minutes=25))
    state = await rows(
        owner_db,
        "SELECT current_streak, freezes_available, last_study_date::text FROM user_streaks "
        "WHERE user_id = :u",
        u=ben.id,
    )
    assert tuple(state[0]) == (2, 0, "2026-03-05")
    await _lesson(db, ben.id, DAY1 + timedelta(days=3))
    assert (
        await scalar(
            owner_db, "SELECT current_streak FROM user_streaks WHERE user_id = :u", u=ben.id
        )
        == 3
    )
    used = await rows(
        owner_db,
        "SELECT local_date::text FROM xp_logs WHERE user_id = :u AND reason = 'freeze_used'",
        u=ben.id,
    )
    assert [r[0] for r in used] == ["2026-03-05"]


async def test_coming_back_before_the_job_spends_the_freeze_too(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    cleo = await learner(client, owner_db, "Australia/Lord_Howe")
    await _lesson(db, cleo.id, DAY1)
    await _give_freeze(owner_db, cleo.id)
    await _lesson(db, cleo.id, DAY1 + timedelta(days=2))
    state = await rows(
        owner_db,
        "SELECT current_streak, freezes_available FROM user_streaks WHERE user_id = :u",
        u=cleo.id,
    )
    assert tuple(state[0]) == (2, 0)


async def test_a_week_of_streak_earns_a_freeze(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    dan = await learner(client, owner_db, "America/St_Johns")
    for day in range(freezes.EARNED_EVERY_DAYS):
        await _lesson(db, dan.id, DAY1 + timedelta(days=day))
    assert (
        await scalar(
            owner_db, "SELECT freezes_available FROM user_streaks WHERE user_id = :u", u=dan.id
        )
        == 1
    )
    assert (
        await scalar(
            owner_db,
            "SELECT count(*) FROM xp_logs WHERE user_id = :u AND reason = 'freeze_earned'",
            u=dan.id,
        )
        == 1
    )
