"""Progress jobs: closing silent study timers and breaking streaks at each zone's midnight.

Both are sweeps that are safe to run twice or late: each row is judged by the clock at run time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from studyhall.jobs import queue, runtime
from studyhall.notifications.access import system_session
from studyhall.progress.config import get_config
from studyhall.progress.service import streaks, timer


@queue.periodic(cron="* * * * *")
@queue.task(name="studyhall.progress.close_idle_study_sessions", queue="maintenance")
async def close_idle_study_sessions(timestamp: int) -> None:
    await close_idle_now()


async def close_idle_now(now: datetime | None = None) -> int:
    async with runtime().database.transaction() as session:
        await system_session(session)
        return await timer.close_idle(session, now or datetime.now(UTC), get_config())


# Every quarter hour: zones sit at whole, half and three-quarter hour offsets (Kathmandu,
# St John's, Lord Howe), so each zone's midnight is seen within fifteen minutes.
@queue.periodic(cron="*/15 * * * *")
@queue.task(name="studyhall.progress.break_missed_streaks", queue="maintenance")
async def break_missed_streaks(timestamp: int) -> None:
    await break_missed_now()


async def break_missed_now(now: datetime | None = None) -> int:
    async with runtime().database.transaction() as session:
        await system_session(session)
        return await streaks.break_missed(session, now or datetime.now(UTC))
