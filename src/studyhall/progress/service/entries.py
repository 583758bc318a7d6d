"""Writing ledger rows and the board totals that mirror them, in one place."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.progress.service import rules


def week_start(at: datetime) -> date:
    """Boards count UTC weeks, Monday to Sunday."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def month_start(at: datetime) -> date:
    return at.astimezone(UTC).date().replace(day=1)


# One statement per write, so an event costs one round trip for its ledger rows and boards:
# - the ledger rows the ledger does not hold yet (a replay inserts none and changes nothing);
# - the positive XP among them added to the learner's weekly and monthly board rows (spending XP,
#   a streak freeze, lowers the balance, not the rank); a new board row takes the learner's
#   board setting (their streak row is locked by the caller);
# - the board's per-value counts moved along: -1 at the XP the learner had, +1 at the new XP,
#   appended (never updated, so learners do not queue on a popular value), listed rows only.
_WRITE = text(
    """
    WITH ledger AS (
      INSERT INTO xp_logs (user_id, source_type, reference_id, reason, xp_amount, local_date,
                           created_at)
      SELECT CAST(:u AS uuid), e.source_type, e.reference_id, e.reason, e.xp_amount,
             CAST(:day AS date), CAST(:at AS timestamptz)
      FROM unnest(CAST(:sources AS text[]), CAST(:references AS uuid[]),
                  CAST(:reasons AS text[]), CAST(:amounts AS integer[]))
        AS e (source_type, reference_id, reason, xp_amount)
      ON CONFLICT (user_id, source_type, reference_id, reason) DO NOTHING
      RETURNING xp_amount
    ), earned AS (
      SELECT sum(xp_amount) AS xp FROM ledger WHERE xp_amount > 0
    ), board AS (
      INSERT INTO leaderboard_cache (period_type, period_start, user_id, xp_total, listed)
      SELECT p.period_type, p.period_start, CAST(:u AS uuid), e.xp,
             coalesce((SELECT show_on_leaderboards FROM user_streaks WHERE user_id = :u), true)
      FROM earned e
      CROSS JOIN (VALUES ('weekly', CAST(:week AS date)), ('monthly', CAST(:month AS date)))
        AS p (period_type, period_start)
      WHERE e.xp > 0
      ON CONFLICT (period_type, period_start, user_id)
      DO UPDATE SET xp_total = leaderboard_cache.xp_total + EXCLUDED.xp_total,
                    generated_at = now()
      RETURNING new.period_type, new.period_start, new.listed,
                old.xp_total AS xp_before, new.xp_total AS xp_after
    ), counted AS (
      INSERT INTO leaderboard_counts (period_type, period_start, xp_total, learners)
      SELECT b.period_type, b.period_start, moved.xp, moved.learners
      FROM board b
      CROSS JOIN LATERAL (VALUES (b.xp_before, -1), (b.xp_after, 1)) AS moved (xp, learners)
      WHERE b.listed AND moved.xp > 0
    )
    SELECT xp_amount FROM ledger
    """
)


async def write(
    session: AsyncSession,
    user_id: uuid.UUID,
    entries: list[rules.Entry],
    at: datetime,
    day: date,
) -> list[int]:
    """Insert the rows the ledger does not hold yet, with their boards; returns the XP of those
    inserted."""
    if not entries:
        return []
    params = {
        "u": user_id,
        "day": day,
        "at": at,
        "week": week_start(at),
        "month": month_start(at),
        "sources": [entry.source_type for entry in entries],
        "references": [entry.reference_id for entry in entries],
        "reasons": [entry.reason for entry in entries],
        "amounts": [entry.xp for entry in entries],
    }
    return [int(amount) for amount in (await session.scalars(_WRITE, params)).all()]
