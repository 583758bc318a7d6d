"""Leaderboards: weekly and monthly (UTC), global or among friends, read from the cache that the
ledger's own transactions keep. Learners who opted out do not appear (nor count for ranks);
minors appear only under a pseudonym."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.progress.service.access import across_learners
from studyhall.progress.service.entries import month_start, week_start

# Under this age a learner is shown by pseudonym only, whatever the consent age of their country.
ADULT_AGE_YEARS = 18

_VISIBLE = """
    FROM leaderboard_cache b
    JOIN users u ON u.id = b.user_id
    LEFT JOIN user_streaks s ON s.user_id = b.user_id
    WHERE b.period_type = :period AND b.period_start = :start AND b.xp_total > 0
      AND (coalesce(s.show_on_leaderboards, true) OR b.user_id = :me)
      AND u.deleted_at IS NULL
      AND (NOT :friends_only OR b.user_id = :me OR b.user_id IN (
        SELECT CASE WHEN f.requester_id = :me THEN f.addressee_id ELSE f.requester_id END
        FROM friends f
        WHERE f.status = 'accepted' AND (f.requester_id = :me OR f.addressee_id = :me)))
"""
_NAME = f"""
    CASE WHEN u.date_of_birth IS NULL
           OR u.date_of_birth <= current_date - interval '{ADULT_AGE_YEARS} years'
         THEN u.name
         ELSE 'Learner ' || upper(substr(md5(u.id::text), 1, 6)) END AS display_name
"""
_TOP = text(
    f"SELECT b.user_id, b.xp_total, {_NAME} {_VISIBLE} ORDER BY b.xp_total DESC, b.user_id LIMIT :n"
)
_MINE = text(f"SELECT b.xp_total {_VISIBLE} AND b.user_id = :me")
_RANK = text(
    f"""SELECT count(*) + 1 {_VISIBLE}
    AND (b.xp_total > :xp OR (b.xp_total = :xp AND b.user_id < :me))"""
)
_ABOVE = text(
    f"""SELECT b.user_id, b.xp_total, {_NAME} {_VISIBLE}
    AND (b.xp_total > :xp OR (b.xp_total = :xp AND b.user_id < :me))
    ORDER BY b.xp_total, b.user_id DESC LIMIT :k"""
)
_BELOW = text(
    f"""SELECT b.user_id, b.xp_total, {_NAME} {_VISIBLE}
    AND (b.xp_total < :xp OR (b.xp_total = :xp AND b.user_id > :me))
    ORDER BY b.xp_total DESC, b.user_id LIMIT :k"""
)


@dataclass(frozen=True)
class Board:
    period_type: str
    period_start: date
    scope: str
    top: list[dict[str, Any]]
    me: dict[str, Any] | None
    neighbours: list[dict[str, Any]]


def period_start(period_type: str, now: datetime) -> date:
    return week_start(now) if period_type == "weekly" else month_start(now)


def _ranked(rows: list[Any], first_rank: int) -> list[dict[str, Any]]:
    return [
        {
            "rank": first_rank + i,
            "user_id": r.user_id,
            "xp": int(r.xp_total),
            "name": r.display_name,
        }
        for i, r in enumerate(rows)
    ]


async def board(
    session: AsyncSession,
    me: uuid.UUID,
    period_type: str,
    scope: str,
    now: datetime,
    limit: int,
    neighbours: int = 2,
) -> Board:
    async with across_learners(session):
        return await _board(session, me, period_type, scope, now, limit, neighbours)


async def _board(
    session: AsyncSession,
    me: uuid.UUID,
    period_type: str,
    scope: str,
    now: datetime,
    limit: int,
    neighbours: int,
) -> Board:
    start = period_start(period_type, now)
    params: dict[str, Any] = {
        "period": period_type,
        "start": start,
        "me": me,
        "friends_only": scope == "friends",
    }
    top = _ranked(list((await session.execute(_TOP, {**params, "n": limit})).all()), 1)
    mine = await session.scalar(_MINE, params)
    if mine is None:
        return Board(period_type, start, scope, top, None, [])
    ranked = {**params, "xp": mine}
    rank = int(await session.scalar(_RANK, ranked) or 0)
    above = list((await session.execute(_ABOVE, {**ranked, "k": neighbours})).all())
    below = list((await session.execute(_BELOW, {**ranked, "k": neighbours})).all())
    around = _ranked(list(reversed(above)), rank - len(above)) + _ranked(below, rank + 1)
    return Board(period_type, start, scope, top, {"rank": rank, "xp": int(mine)}, around)
