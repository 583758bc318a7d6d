"""Writing ledger rows and the board totals that mirror them, in one place."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.progress.models import XpLog
from studyhall.progress.service import rules


def week_start(at: datetime) -> date:
    """Boards count UTC weeks, Monday to Sunday."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def month_start(at: datetime) -> date:
    return at.astimezone(UTC).date().replace(day=1)


# A new board row takes the learner's board setting (their streak row is locked by the caller);
# the setting itself updates the learner's rows when it changes.
_ADD_TO_BOARD = text(
    """
    INSERT INTO leaderboard_cache (period_type, period_start, user_id, xp_total, listed)
    SELECT p.period_type, p.period_start, :u, :xp,
           coalesce((SELECT show_on_leaderboards FROM user_streaks WHERE user_id = :u), true)
    FROM (VALUES ('weekly', CAST(:week AS date)), ('monthly', CAST(:month AS date)))
      AS p (period_type, period_start)
    ON CONFLICT (period_type, period_start, user_id)
    DO UPDATE SET xp_total = leaderboard_cache.xp_total + EXCLUDED.xp_total, generated_at = now()
    """
)


async def add_to_boards(session: AsyncSession, user_id: uuid.UUID, at: datetime, xp: int) -> None:
    if xp != 0:
        periods = {"week": week_start(at), "month": month_start(at)}
        await session.execute(_ADD_TO_BOARD, {**periods, "u": user_id, "xp": xp})


async def write(
    session: AsyncSession,
    user_id: uuid.UUID,
    entries: list[rules.Entry],
    at: datetime,
    day: date,
) -> list[int]:
    """Insert the rows the ledger does not hold yet; returns the XP of those inserted."""
    if not entries:
        return []
    rows = [
        {
            "user_id": user_id,
            "source_type": entry.source_type,
            "reference_id": entry.reference_id,
            "reason": entry.reason,
            "xp_amount": entry.xp,
            "local_date": day,
            "created_at": at,
        }
        for entry in entries
    ]
    inserted = await session.scalars(
        insert(XpLog)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "source_type", "reference_id", "reason"])
        .returning(XpLog.xp_amount)
    )
    amounts = list(inserted.all())
    # Boards rank XP earned; spending XP (a streak freeze) lowers the balance, not the rank.
    await add_to_boards(session, user_id, at, sum(a for a in amounts if a > 0))
    return amounts
