"""Streaks counted in the learner's own calendar days.

A day counts once the learner reaches their daily goal on it (in their zone at the time of the
event). The stored ``current_streak`` is advanced when a day's goal is met and broken by a job at
each zone's local midnight; readers still compute the streak shown from ``last_study_date``, so
an answer never depends on when that job last ran.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.progress.models import StudySession, UserStreak

# Events that satisfy an "activity" goal (one lesson, quiz or review, or studied time).
ACTIVITY_SOURCES = frozenset({"quiz", "lesson", "review", "study"})


@dataclass(frozen=True)
class Streak:
    current: int
    longest: int
    last_day: date | None


def advance(streak: Streak, day: date) -> Streak:
    """The streak after ``day``'s goal is met. A day already counted (or an earlier one, e.g. a
    session closed late that began yesterday) changes nothing."""
    if streak.last_day is not None and day <= streak.last_day:
        return streak
    follows = streak.last_day is not None and day - streak.last_day == timedelta(days=1)
    current = streak.current + 1 if follows and streak.current > 0 else 1
    return Streak(current, max(streak.longest, current), day)


def shown(streak: Streak, today: date, freezes: int = 0) -> int:
    """The streak as of ``today`` (local): alive if the last counted day is today or yesterday,
    or if the held freezes cover the days missed since (the midnight job will spend them)."""
    if streak.last_day is None:
        return 0
    missed = (today - streak.last_day).days - 1
    return streak.current if missed <= freezes else 0


async def lock_profile(session: AsyncSession, user_id: uuid.UUID) -> UserStreak:
    profile, _ = await lock_profile_and_zone(session, user_id)
    return profile


async def lock_profile_and_zone(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[UserStreak, str]:
    """The learner's streak row (created on first use, then locked) and their zone. The lock
    makes one learner's events apply one after the other, so caps, streaks and achievement
    thresholds see each other. One statement once the row exists (every event but the first)."""
    query = (
        select(UserStreak, User.timezone)
        .join(User, User.id == UserStreak.user_id)
        .where(UserStreak.user_id == user_id)
        .with_for_update(of=UserStreak)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        await session.execute(
            text("INSERT INTO user_streaks (user_id) VALUES (:u) ON CONFLICT (user_id) DO NOTHING"),
            {"u": user_id},
        )
        row = (await session.execute(query)).one()
    return row[0], row[1] or "UTC"


async def studied_seconds(session: AsyncSession, user_id: uuid.UUID, day: date) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(StudySession.duration_seconds), 0)).where(
            StudySession.user_id == user_id,
            StudySession.local_date == day,
            StudySession.ended_at.is_not(None),
        )
    )
    return int(total or 0)


async def goal_met(session: AsyncSession, profile: UserStreak, source_type: str, day: date) -> bool:
    if profile.daily_goal_type == "activity":
        return source_type in ACTIVITY_SOURCES
    if source_type != "study":
        return False
    return await studied_seconds(session, profile.user_id, day) >= profile.daily_goal_minutes * 60


def count_day(profile: UserStreak, day: date) -> bool:
    """Advance the locked profile for ``day``; True when the streak changed."""
    before = Streak(profile.current_streak, profile.longest_streak, profile.last_study_date)
    after = advance(before, day)
    if after == before:
        return False
    profile.current_streak, profile.longest_streak = after.current, after.longest
    profile.last_study_date = after.last_day
    return True


# Each learner's days are taken in their own zone (PostgreSQL's zone rules), so one statement
# serves every zone at once. Freezes are spent eagerly, one per missed day while they last: if
# they cover every missed day, yesterday counts as kept (the streak does not grow); if not, the
# ones spent are gone and the streak breaks. The ledger records each spent freeze.
_SPEND_FREEZES = text(
    """
    WITH due AS (
      SELECT s.user_id, s.last_study_date AS last, s.freezes_available AS freezes,
             (CAST(:now AS timestamptz) AT TIME ZONE u.timezone)::date - 1 AS yesterday
      FROM user_streaks s JOIN users u ON u.id = s.user_id
      WHERE s.current_streak > 0 AND s.freezes_available > 0
        AND s.last_study_date < (CAST(:now AS timestamptz) AT TIME ZONE u.timezone)::date - 1
      FOR UPDATE OF s
    ), spent AS (
      UPDATE user_streaks s
      SET freezes_available = s.freezes_available - least(d.yesterday - d.last, d.freezes),
          last_study_date = CASE WHEN d.yesterday - d.last <= d.freezes THEN d.yesterday
                                 ELSE s.last_study_date END
      FROM due d WHERE s.user_id = d.user_id
      RETURNING s.user_id, d.last, least(d.yesterday - d.last, d.freezes) AS n
    )
    INSERT INTO xp_logs (user_id, source_type, reference_id, reason, xp_amount, local_date)
    SELECT user_id, 'streak', md5(user_id::text || ':' || (last + k)::text)::uuid,
           'freeze_used', 0, last + k
    FROM spent CROSS JOIN LATERAL generate_series(1, n) k
    ON CONFLICT (user_id, source_type, reference_id, reason) DO NOTHING
    """
)
_BREAK = text(
    """
    UPDATE user_streaks s SET current_streak = 0
    FROM users u
    WHERE u.id = s.user_id AND s.current_streak > 0
      AND s.last_study_date < (CAST(:now AS timestamptz) AT TIME ZONE u.timezone)::date - 1
    """
)


async def break_missed(session: AsyncSession, now: datetime) -> int:
    """Spend freezes on missed days, then zero the streak of every learner whose local day ended
    without the goal and without enough freezes. It runs every quarter hour, so every zone is
    seen soon after its own midnight; running it late or twice breaks nothing that should
    stand."""
    await session.execute(_SPEND_FREEZES, {"now": now})
    result = await session.execute(_BREAK, {"now": now})
    return int(getattr(result, "rowcount", 0) or 0)
