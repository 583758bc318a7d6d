"""Progress jobs: closing silent study timers, breaking streaks at each zone's midnight,
compacting the boards' per-value counts, and awarding a new or lowered achievement to those who
already qualify.

Both are sweeps that are safe to run twice or late: each row is judged by the clock at run time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from studyhall.accounts import service as account_closures
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.jobs import backoff, queue, runtime
from studyhall.progress.config import get_config
from studyhall.progress.service import boards, ledger, recommendations, refresh, streaks, timer


async def unlist_deleted_account(
    database: Database, user_id: uuid.UUID, closure: account_closures.Closure
) -> None:
    """A deleted learner leaves every board (a suspended one stays: the account may return)."""
    if closure != "deleted":
        return
    async with database.transaction() as session:
        await cross_users(session)
        await boards.set_listed(session, user_id, False)


# Accounts' closure job takes a deleted learner off the boards.
account_closures.on_account_closed("progress.boards", unlist_deleted_account)


@queue.periodic(cron="* * * * *")
@queue.task(name="studyhall.progress.close_idle_study_sessions", queue="maintenance")
async def close_idle_study_sessions(timestamp: int) -> None:
    await close_idle_now()


async def close_idle_now(now: datetime | None = None) -> int:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        return await timer.close_idle(session, now or datetime.now(UTC), get_config())


# Every quarter hour: zones sit at whole, half and three-quarter hour offsets (Kathmandu,
# St John's, Lord Howe), so each zone's midnight is seen within fifteen minutes.
@queue.periodic(cron="*/15 * * * *")
@queue.task(name="studyhall.progress.break_missed_streaks", queue="maintenance")
async def break_missed_streaks(timestamp: int) -> None:
    await break_missed_now()


async def break_missed_now(now: datetime | None = None) -> int:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        return await streaks.break_missed(session, now or datetime.now(UTC))


# Every minute: the ledger appends board-count deltas, and a rank sums the rows above the
# learner's XP, so folding them back to one row per value keeps that sum short.
@queue.periodic(cron="* * * * *")
@queue.task(name="studyhall.progress.compact_board_counts", queue="maintenance")
async def compact_board_counts(timestamp: int) -> None:
    await compact_board_counts_now()


async def compact_board_counts_now() -> int:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        return await boards.compact_counts(session)


# Learners per transaction when a definition is awarded retroactively.
RETROACTIVE_BATCH = 200


@queue.task(name="studyhall.progress.award_retroactively", retry=backoff())
async def award_retroactively(achievement_id: str) -> None:
    await award_retroactively_now(uuid.UUID(achievement_id))


async def award_retroactively_now(achievement_id: uuid.UUID) -> int:
    total, more = 0, True
    while more:
        async with runtime().database.transaction() as session:
            await cross_users(session)
            awarded, more = await ledger.award_retroactively(
                session, achievement_id, datetime.now(UTC), RETROACTIVE_BATCH
            )
        total += awarded
    return total


# Learners per transaction, and the activity window, of the recommendation refresh.
REFRESH_BATCH = 100
_RECENT_LEARNERS = text(
    """
    SELECT user_id FROM user_streaks
    WHERE updated_at > CAST(:now AS timestamptz) - interval '2 days' OR current_streak > 0
    ORDER BY user_id
    """
)


@queue.task(name=recommendations.REFRESH_TASK, queue="maintenance", retry=backoff())
async def refresh_learner_recommendations(user_id: str) -> None:
    await refresh_learner_now(uuid.UUID(user_id))


async def refresh_learner_now(user_id: uuid.UUID, now: datetime | None = None) -> None:
    async with runtime().database.transaction() as session:
        await cross_users(session)
        await refresh.refresh(session, user_id, now or datetime.now(UTC))


@queue.periodic(cron="7,22,37,52 * * * *")
@queue.task(name="studyhall.progress.refresh_recommendations", queue="maintenance")
async def refresh_recommendations(timestamp: int) -> None:
    await refresh_recommendations_now()


async def refresh_recommendations_now(now: datetime | None = None) -> int:
    """Recompute every recently active learner's recommendations (due cards fall due, days end
    and streaks come at risk without any event happening)."""
    moment = now or datetime.now(UTC)
    async with runtime().database.transaction() as session:
        await cross_users(session)
        learners = list((await session.scalars(_RECENT_LEARNERS, {"now": moment})).all())
    for start in range(0, len(learners), REFRESH_BATCH):
        async with runtime().database.transaction() as session:
            await cross_users(session)
            for user_id in learners[start : start + REFRESH_BATCH]:
                await refresh.refresh(session, user_id, moment)
    return len(learners)
