"""Leaderboards: weekly and monthly (UTC), global or among friends, read from the cache that the
ledger's own transactions keep. Learners who opted out do not appear (nor count for ranks);
minors appear only under a pseudonym."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.progress.service.entries import month_start, week_start

# Under this age a learner is shown by pseudonym only, whatever the consent age of their country.
ADULT_AGE_YEARS = 18

# Boards read the partial board index (listed rows with XP) and nothing else per row: "my
# rank" is an index-only count, top N and neighbours are index range scans, and users is joined
# only for the few rows shown (names). The caller's own row is read by its key, listed or not,
# so a learner who opted out still sees their own rank. Friends boards add the friend ids.
_BOARD = "b.period_type = :period AND b.period_start = :start AND b.xp_total > 0"
_LISTED = f"{_BOARD} AND b.listed"
_MINE = f"{_BOARD} AND b.user_id = :me"
_FRIENDS = """
    AND (b.user_id = :me OR b.user_id IN (
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
# ``xp_total >= :xp`` repeats what the OR implies so the index scan starts at the caller's XP.
_BETTER = "b.xp_total >= :xp AND (b.xp_total > :xp OR b.user_id < :me)"
_WORSE = "b.xp_total <= :xp AND (b.xp_total < :xp OR b.user_id > :me)"


def _with_names(rows: str, order: str) -> str:
    return (
        f"SELECT t.user_id, t.xp_total, {_NAME} FROM ({rows}) t "
        f"JOIN users u ON u.id = t.user_id ORDER BY {order}"
    )


def _statements(scope: str) -> dict[str, TextClause]:
    top = (
        f"(SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {scope} "
        "ORDER BY b.xp_total DESC, b.user_id LIMIT :n) "
        f"UNION SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {_MINE}"
    )
    above = (
        f"SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {scope} AND {_BETTER} "
        "ORDER BY b.xp_total, b.user_id DESC LIMIT :k"
    )
    below = (
        f"SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {scope} AND {_WORSE} "
        "ORDER BY b.xp_total DESC, b.user_id LIMIT :k"
    )
    return {
        "top": text(_with_names(top, "t.xp_total DESC, t.user_id LIMIT :n")),
        "mine": text(f"SELECT b.xp_total FROM leaderboard_cache b WHERE {_MINE}"),
        "rank": text(f"SELECT count(*) + 1 FROM leaderboard_cache b WHERE {scope} AND {_BETTER}"),
        "above": text(_with_names(above, "t.xp_total, t.user_id DESC")),
        "below": text(_with_names(below, "t.xp_total DESC, t.user_id")),
    }


_GLOBAL = _statements(_LISTED)
_AMONG_FRIENDS = _statements(_LISTED + _FRIENDS)


_SET_LISTED = text("UPDATE leaderboard_cache SET listed = :listed WHERE user_id = :u")


async def set_listed(session: AsyncSession, user_id: uuid.UUID, listed: bool) -> None:
    """Show or hide the learner on every board, past periods included."""
    await session.execute(_SET_LISTED, {"u": user_id, "listed": listed})


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
    """Reads only board rows (readable by everyone), users (names) and the caller's own friend
    rows, so no row level security is lifted: other learners' settings are on their rows."""
    start = period_start(period_type, now)
    sql = _AMONG_FRIENDS if scope == "friends" else _GLOBAL
    params: dict[str, Any] = {"period": period_type, "start": start, "me": me}
    top = _ranked(list((await session.execute(sql["top"], {**params, "n": limit})).all()), 1)
    mine = await session.scalar(sql["mine"], params)
    if mine is None:
        return Board(period_type, start, scope, top, None, [])
    ranked = {**params, "xp": mine}
    rank = int(await session.scalar(sql["rank"], ranked) or 0)
    above = list((await session.execute(sql["above"], {**ranked, "k": neighbours})).all())
    below = list((await session.execute(sql["below"], {**ranked, "k": neighbours})).all())
    around = _ranked(list(reversed(above)), rank - len(above)) + _ranked(below, rank + 1)
    return Board(period_type, start, scope, top, {"rank": rank, "xp": int(mine)}, around)
