"""Streak freezes: earned every week of streak, bought with XP, spent on a single missed day.
Every change is a ledger entry (source ``streak``)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.audit import service as audit
from studyhall.kit.errors import Conflict
from studyhall.kit.timezones import local_date, validate_zone
from studyhall.progress.models import UserStreak, XpLog
from studyhall.progress.service import rules
from studyhall.progress.service.entries import write
from studyhall.progress.service.streaks import lock_profile_and_zone

MAX_FREEZES = 5
FREEZE_COST_XP = 100
EARNED_EVERY_DAYS = 7


def day_reference(user_id: uuid.UUID, day: date) -> uuid.UUID:
    """The same reference the midnight job computes in SQL, so a day is frozen once."""
    return uuid.UUID(hashlib.md5(f"{user_id}:{day.isoformat()}".encode()).hexdigest())


async def spend_for_gap(session: AsyncSession, profile: UserStreak, day: date) -> bool:
    """The learner counts ``day`` after missed days: held freezes are spent on them, one per
    day, exactly as the midnight job would have. True when they covered every missed day (the
    streak goes on); otherwise the spent ones are gone and the streak restarts."""
    last = profile.last_study_date
    if last is None or profile.current_streak == 0 or profile.freezes_available == 0:
        return False
    missed = (day - last).days - 1
    if missed < 1:
        return False
    spent = min(missed, profile.freezes_available)
    frozen = [last + timedelta(days=k) for k in range(1, spent + 1)]
    entries = [
        rules.Entry("streak", day_reference(profile.user_id, d), "freeze_used", 0) for d in frozen
    ]
    await write(session, profile.user_id, entries, _noon(frozen[-1]), frozen[-1])
    profile.freezes_available -= spent
    if spent < missed:
        return False
    profile.last_study_date = frozen[-1]
    return True


async def earn_on_milestone(session: AsyncSession, profile: UserStreak, day: date) -> bool:
    if profile.current_streak == 0 or profile.current_streak % EARNED_EVERY_DAYS:
        return False
    if profile.freezes_available >= MAX_FREEZES:
        return False
    entry = rules.Entry("streak", day_reference(profile.user_id, day), "freeze_earned", 0)
    if not await write(session, profile.user_id, [entry], _noon(day), day):
        return False
    profile.freezes_available += 1
    return True


async def balance(session: AsyncSession, user_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(XpLog.xp_amount), 0)).where(XpLog.user_id == user_id)
    )
    return int(total or 0)


async def buy(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> UserStreak:
    profile, zone = await lock_profile_and_zone(session, user_id)
    if profile.freezes_available >= MAX_FREEZES:
        raise Conflict(
            f"You already hold {MAX_FREEZES} streak freezes.", code="streak_freeze_limit"
        )
    have = await balance(session, user_id)
    if have < FREEZE_COST_XP:
        raise Conflict(
            f"A streak freeze costs {FREEZE_COST_XP} XP; you have {have}.",
            code="not_enough_xp",
            balance=have,
        )
    entry = rules.Entry("streak", uuid.uuid4(), "freeze_bought", -FREEZE_COST_XP)
    await write(session, user_id, [entry], now, local_date(now, validate_zone(zone)))
    profile.freezes_available += 1
    await session.flush()
    await audit.record(session, user_id, "progress.freeze_bought", "user_streaks", user_id)
    return profile


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)
