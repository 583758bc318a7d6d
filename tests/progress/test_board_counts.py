"""The boards' per-value counts: always equal to the listed board rows (with events recorded
concurrently, opt-outs and a compaction running in the middle), and the rank they give equals a
plain count of the learners ahead; plus the statement budget of an event and of a board."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import event

from studyhall.db.engine import Database
from studyhall.progress import service as progress
from studyhall.progress.jobs import compact_board_counts_now
from studyhall.progress.service import boards
from tests.courses.helpers import Actor
from tests.progress.helpers import learner, rows

# Counts as the ledger's transactions left them (deltas summed), next to a recount of the board.
SUMMED_COUNTS = """
    SELECT period_type, period_start, xp_total, sum(learners) FROM leaderboard_counts
    GROUP BY 1, 2, 3 HAVING sum(learners) <> 0 ORDER BY 1, 2, 3
"""
RECOUNTED = """
    SELECT period_type, period_start, xp_total, count(*) FROM leaderboard_cache
    WHERE listed AND xp_total > 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
# Rank by counting, as the board did before the counts existed.
PLAIN_RANK = """
    SELECT b.user_id, b.period_type, b.period_start,
      1 + (SELECT count(*) FROM leaderboard_cache o
           WHERE o.period_type = b.period_type AND o.period_start = b.period_start
             AND o.listed AND o.xp_total > 0
             AND (o.xp_total > b.xp_total OR (o.xp_total = b.xp_total AND o.user_id < b.user_id)))
    FROM leaderboard_cache b WHERE b.xp_total > 0 ORDER BY 1, 2, 3
"""
# Statements of one event that unlocks nothing (the transaction's identity included), and of a
# board read.
EVENT_BUDGET = 5
BOARD_BUDGET = 2


async def _lessons(db: Database, person: Actor, count: int, at: datetime) -> None:
    """``count`` lessons, one transaction each (as the API records them)."""
    for _ in range(count):
        async with db.transaction(person.id) as session:
            await progress.record(session, progress.LessonCompleted(person.id, uuid.uuid4(), at=at))


async def _settle(client: httpx.AsyncClient, person: Actor, listed: bool) -> None:
    response = await client.patch(
        "/api/v1/me/progress/settings",
        headers=person.headers,
        json={"show_on_leaderboards": listed},
    )
    assert response.status_code == 200


async def _assert_counts_exact(owner_db: Database) -> None:
    counted = [tuple(r) for r in await rows(owner_db, SUMMED_COUNTS)]
    assert counted == [tuple(r) for r in await rows(owner_db, RECOUNTED)]
    assert len(counted) > 3


async def test_counts_equal_the_board_and_ranks_equal_a_plain_count(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    rng = random.Random(11)
    people = [await learner(client, owner_db) for _ in range(8)]
    now = datetime.now(UTC)
    last_week = now - timedelta(days=7)
    # Few distinct amounts (lessons pay 20 each), so many learners tie on one value; events of
    # different learners run at the same time.
    await asyncio.gather(
        *(_lessons(db, p, rng.randrange(1, 5), rng.choice([now, last_week])) for p in people)
    )
    await _settle(client, people[0], False)
    await _assert_counts_exact(owner_db)
    # A compaction while events and a setting change keep arriving.
    await asyncio.gather(
        compact_board_counts_now(),
        *(_lessons(db, p, rng.randrange(1, 4), now) for p in people[2:]),
        _settle(client, people[1], False),
        compact_board_counts_now(),
    )
    await _settle(client, people[0], True)
    await _assert_counts_exact(owner_db)
    await compact_board_counts_now()
    await _assert_counts_exact(owner_db)
    assert not await rows(
        owner_db,
        "SELECT 1 FROM leaderboard_counts GROUP BY period_type, period_start, xp_total "
        "HAVING count(*) > 1 OR min(learners) <= 0",
    )

    expected = {(r[0], r[1], r[2]): r[3] for r in await rows(owner_db, PLAIN_RANK)}
    assert len(expected) > 8
    for (user_id, period_type, start), rank in expected.items():
        at = datetime.combine(start, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
        async with db.transaction(user_id) as session:
            found = await boards.board(session, user_id, period_type, "global", at, 100)
        assert found.me is not None and found.me["rank"] == rank, (user_id, period_type, start)
        listed = [row["user_id"] for row in found.top]
        assert [row["rank"] for row in found.top] == list(range(1, len(listed) + 1))


async def test_an_event_and_a_board_stay_within_their_statement_budgets(
    client: httpx.AsyncClient, db: Database, owner_db: Database
) -> None:
    ana = await learner(client, owner_db)
    async with db.transaction(ana.id) as session:
        await progress.record(session, progress.LessonCompleted(ana.id, uuid.uuid4()))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.transaction(ana.id) as session:
            quiz = progress.QuizCompleted(ana.id, uuid.uuid4(), uuid.uuid4(), Decimal(90))
            assert (await progress.record(session, quiz)).xp == 55
        recorded = len(statements)
        statements.clear()
        async with db.transaction(ana.id) as session:
            found = await boards.board(session, ana.id, "weekly", "global", datetime.now(UTC), 10)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert found.me == {"rank": 1, "xp": 75}
    assert recorded <= EVENT_BUDGET
    assert len(statements) <= BOARD_BUDGET, statements
