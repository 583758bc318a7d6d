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

# A board is one statement. It reads the partial board index (listed rows with XP): top N and
# the neighbours are index range scans starting at the caller's XP, and users is joined only for
# the few rows shown (names). The caller's own row is read by its key, listed or not, so a
# learner who opted out still sees their own rank.
#
# "My rank" on the global board does not count the learners ahead one by one (half the board for
# a median learner): it sums the per-value counts above my XP (``leaderboard_counts``, a few
# hundred rows) and counts only the ties ahead of me on the index. Friends boards are small and
# count directly.
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
         ELSE 'Learner ' || upper(substr(md5(u.id::text), 1, 6)) END
"""
_XP = "(SELECT xp FROM mine)"
# ``xp_total >= my XP`` repeats what the OR implies so the index scan starts at the caller's XP.
_BETTER = f"b.xp_total >= {_XP} AND (b.xp_total > {_XP} OR b.user_id < :me)"
_WORSE = f"b.xp_total <= {_XP} AND (b.xp_total < {_XP} OR b.user_id > :me)"
_COUNTED_RANK = f"SELECT count(*) + 1 FROM leaderboard_cache b WHERE {{scope}} AND {_BETTER}"
_SUMMED_RANK = f"""
    SELECT 1
      + coalesce((SELECT sum(c.learners) FROM leaderboard_counts c
                  WHERE c.period_type = :period AND c.period_start = :start
                    AND c.xp_total > {_XP}), 0)
      + (SELECT count(*) FROM leaderboard_cache b
         WHERE {_LISTED} AND b.xp_total = {_XP} AND b.user_id < :me)
"""


def _statement(scope: str, rank: str) -> TextClause:
    """Rows tagged ``top``, ``above``, ``below`` (with names) and one ``mine`` (XP and rank)."""
    return text(
        f"""
        WITH mine AS (SELECT b.xp_total AS xp FROM leaderboard_cache b WHERE {_MINE}),
        top AS (
          (SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {scope}
           ORDER BY b.xp_total DESC, b.user_id LIMIT :n)
          UNION SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {_MINE}
          ORDER BY 2 DESC, 1 LIMIT :n
        ),
        above AS (
          SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {scope} AND {_BETTER}
          ORDER BY b.xp_total, b.user_id DESC LIMIT :k
        ),
        below AS (
          SELECT b.user_id, b.xp_total FROM leaderboard_cache b WHERE {scope} AND {_WORSE}
          ORDER BY b.xp_total DESC, b.user_id LIMIT :k
        ),
        shown AS (
          SELECT 'top' AS part, user_id, xp_total FROM top
          UNION ALL SELECT 'above', user_id, xp_total FROM above
          UNION ALL SELECT 'below', user_id, xp_total FROM below
        )
        SELECT s.part, s.user_id, s.xp_total, NULL AS rank, {_NAME} AS display_name
        FROM shown s JOIN users u ON u.id = s.user_id
        UNION ALL
        SELECT 'mine', CAST(:me AS uuid), m.xp, ({rank.format(scope=scope)}), NULL FROM mine m
        """
    )


_GLOBAL = _statement(_LISTED, _SUMMED_RANK)
_AMONG_FRIENDS = _statement(_LISTED + _FRIENDS, _COUNTED_RANK)
# The rank alone, as the global board computes it (the benchmark explains it).
GLOBAL_RANK = text(
    f"WITH mine AS (SELECT b.xp_total AS xp FROM leaderboard_cache b WHERE {_MINE}) {_SUMMED_RANK}"
)


# The learner's rows change sides, and the per-value counts follow them.
_SET_LISTED = text(
    """
    WITH changed AS (
      UPDATE leaderboard_cache SET listed = :listed
      WHERE user_id = :u AND listed <> :listed
      RETURNING period_type, period_start, xp_total
    )
    INSERT INTO leaderboard_counts (period_type, period_start, xp_total, learners)
    SELECT period_type, period_start, xp_total, CASE WHEN :listed THEN 1 ELSE -1 END
    FROM changed WHERE xp_total > 0
    """
)


async def set_listed(session: AsyncSession, user_id: uuid.UUID, listed: bool) -> None:
    """Show or hide the learner on every board, past periods included."""
    await session.execute(_SET_LISTED, {"u": user_id, "listed": listed})


# Compactions run one at a time (two at once would each insert a full recount).
_COMPACTION_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('progress.leaderboard_counts'))")
# Every period holding deltas (several rows for one value, or a non-positive one) is recounted
# from its board rows. Deleting the counts and recounting the board in one statement reads both
# in one snapshot: an event committed after it is in neither, and its deltas (not deleted) then
# apply on top of the recount, so the counts stay exact while events keep arriving. Recounting
# rather than summing the deltas also repairs a period whose board rows changed some other way
# (an erased account's rows deleted while still listed).
_COMPACT = text(
    """
    WITH periods AS (
      SELECT period_type, period_start FROM leaderboard_counts
      GROUP BY period_type, period_start
      HAVING count(*) > count(DISTINCT xp_total) OR min(learners) <= 0
    ), gone AS (
      DELETE FROM leaderboard_counts c USING periods p
      WHERE c.period_type = p.period_type AND c.period_start = p.period_start
    )
    INSERT INTO leaderboard_counts (period_type, period_start, xp_total, learners)
    SELECT b.period_type, b.period_start, b.xp_total, count(*)
    FROM leaderboard_cache b
    JOIN periods p ON p.period_type = b.period_type AND p.period_start = b.period_start
    WHERE b.listed AND b.xp_total > 0
    GROUP BY b.period_type, b.period_start, b.xp_total
    """
)


async def compact_counts(session: AsyncSession) -> int:
    """One row per board and XP value again; returns how many rows the counts now hold for the
    recounted periods. Cross-user work (the caller declares it)."""
    await session.execute(_COMPACTION_LOCK)
    result = await session.execute(_COMPACT)
    return int(getattr(result, "rowcount", 0) or 0)


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


def _part(rows: list[Any], part: str) -> list[Any]:
    """The rows of one part, best first (ranks break ties by user id)."""
    return sorted((r for r in rows if r.part == part), key=lambda r: (-r.xp_total, r.user_id))


async def board(
    session: AsyncSession,
    me: uuid.UUID,
    period_type: str,
    scope: str,
    now: datetime,
    limit: int,
    neighbours: int = 2,
) -> Board:
    """One statement. Reads only board rows and counts (readable by everyone), users (names)
    and the caller's own friend rows, so no row level security is lifted: other learners'
    settings are on their rows."""
    start = period_start(period_type, now)
    sql = _AMONG_FRIENDS if scope == "friends" else _GLOBAL
    params = {"period": period_type, "start": start, "me": me, "n": limit, "k": neighbours}
    rows = list((await session.execute(sql, params)).all())
    top = _ranked(_part(rows, "top"), 1)
    mine = next((r for r in rows if r.part == "mine"), None)
    if mine is None:
        return Board(period_type, start, scope, top, None, [])
    rank = int(mine.rank)
    above = _part(rows, "above")
    around = _ranked(above, rank - len(above)) + _ranked(_part(rows, "below"), rank + 1)
    return Board(period_type, start, scope, top, {"rank": rank, "xp": int(mine.xp_total)}, around)
