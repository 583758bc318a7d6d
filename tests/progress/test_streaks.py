"""Streaks in the learner's own calendar: a property test across zones and DST changes against
a plain oracle over local dates, and the pure rules."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from studyhall.db.engine import Database
from studyhall.db.rls import cross_users as system_session
from studyhall.progress import service as progress
from studyhall.progress.service import streaks

ZONES = (
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "UTC",
    "Europe/London",
    "Europe/Copenhagen",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "Atlantic/Azores",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Yangon",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Eucla",
    "Pacific/Chatham",
    "Pacific/Auckland",
    "Pacific/Tongatapu",
    "Asia/Kabul",
)
DAYS = 120
# Both hemispheres change clocks inside this window (March/April).
START = datetime(2026, 2, 10, tzinfo=UTC)


def oracle(days: set[date], today: date) -> tuple[int, int]:
    """(current, longest) streak over a set of local dates, as of local ``today``, with the
    freeze rules written out plainly: a freeze is earned on every 7th day of a streak (at most
    5 held) and spent on each missed day while any are held; the streak survives a gap only if
    the freezes covered all of it."""
    current = longest = freezes = 0
    last: date | None = None

    def spend(missed: int) -> bool:
        nonlocal freezes
        spent = min(missed, freezes)
        freezes -= spent
        return spent == missed

    for day in sorted(days):
        missed = 0 if last is None else (day - last).days - 1
        kept = current > 0 and missed >= 0 and (missed == 0 or spend(missed))
        current = current + 1 if kept else 1
        longest, last = max(longest, current), day
        if current % 7 == 0 and freezes < 5:
            freezes += 1
    if last is None:
        return 0, 0
    missed = (today - last).days - 1
    if current > 0 and missed > 0 and not spend(missed):
        current = 0
    return current, longest


def test_the_oracle_itself() -> None:
    d = date(2026, 3, 1)
    days = {d, d + timedelta(1), d + timedelta(2), d + timedelta(5), d + timedelta(6)}
    assert oracle(days, d + timedelta(6)) == (2, 3)
    assert oracle(days, d + timedelta(7)) == (2, 3)
    assert oracle(days, d + timedelta(8)) == (0, 3)
    # A week earns a freeze, which carries the streak over one missed day (not two).
    week = {d + timedelta(k) for k in range(7)}
    assert oracle(week | {d + timedelta(8)}, d + timedelta(8)) == (8, 8)
    assert oracle(week | {d + timedelta(9)}, d + timedelta(9)) == (1, 7)
    assert oracle(week, d + timedelta(8)) == (7, 7)  # the freeze covers yesterday
    assert oracle(week, d + timedelta(9)) == (0, 7)


def test_advance_counts_a_day_once_and_restarts_after_a_gap() -> None:
    d = date(2026, 3, 29)
    s = streaks.advance(streaks.Streak(0, 0, None), d)
    assert s == streaks.Streak(1, 1, d)
    assert streaks.advance(s, d) == s  # a second event the same local day
    assert streaks.advance(s, d - timedelta(1)) == s  # a late event for an earlier day
    s = streaks.advance(s, d + timedelta(1))
    assert s == streaks.Streak(2, 2, d + timedelta(1))
    assert streaks.advance(s, d + timedelta(3)) == streaks.Streak(1, 2, d + timedelta(3))
    assert streaks.shown(s, d + timedelta(2)) == 2
    assert streaks.shown(s, d + timedelta(3)) == 0


async def _learners(owner_db: Database) -> dict[uuid.UUID, str]:
    learners = {}
    async with owner_db.transaction() as session:
        for zone in ZONES:
            user_id = await session.scalar(
                text(
                    "INSERT INTO users (email, name, password_hash, timezone) "
                    "VALUES (:email, 'Learner', 'unused', :zone) RETURNING id"
                ),
                {"email": f"{uuid.uuid4().hex[:10]}@example.com", "zone": zone},
            )
            learners[user_id] = zone
    return learners


def _events(learners: dict[uuid.UUID, str], rng: random.Random) -> list[tuple[datetime, uuid.UUID]]:
    """Each learner studies on most days at random instants, so many events fall near local
    midnight and around the DST changes; some days have several events, some none."""
    events = []
    for user_id in learners:
        diligence = rng.uniform(0.55, 0.97)
        for day in range(DAYS):
            if rng.random() < diligence:
                for _ in range(rng.choice((1, 1, 1, 2))):
                    instant = START + timedelta(days=day, seconds=rng.randrange(86_400))
                    events.append((instant, user_id))
    return sorted(events)


async def test_streaks_equal_an_oracle_over_local_dates_in_32_zones(
    db: Database, owner_db: Database
) -> None:
    rng = random.Random(20261207)
    learners = await _learners(owner_db)
    events = _events(learners, rng)
    local_days: dict[uuid.UUID, set[date]] = defaultdict(set)
    by_day: dict[date, list[tuple[datetime, uuid.UUID]]] = defaultdict(list)
    for instant, user_id in events:
        by_day[instant.date()].append((instant, user_id))
        local_days[user_id].add(instant.astimezone(ZoneInfo(learners[user_id])).date())

    for utc_day in sorted(by_day):
        # The midnight job runs at a random moment of each UTC day, in time order with the events
        # (a job that saw the future would break streaks no learner broke).
        midnight = datetime.combine(utc_day, datetime.min.time(), tzinfo=UTC)
        sweep = midnight + timedelta(seconds=rng.randrange(86_400))
        async with db.transaction() as session:
            await system_session(session)
            swept = False
            for instant, user_id in by_day[utc_day]:
                if not swept and instant > sweep:
                    await streaks.break_missed(session, sweep)
                    swept = True
                await progress.record(
                    session, progress.LessonCompleted(user_id, uuid.uuid4(), at=instant)
                )
            if not swept:
                await streaks.break_missed(session, sweep)

    end = START + timedelta(days=DAYS, hours=rng.randrange(24))
    async with db.transaction() as session:
        await system_session(session)
        await streaks.break_missed(session, end)
        stored = {
            row.user_id: row
            for row in (await session.execute(text("SELECT * FROM user_streaks"))).all()
        }
    for user_id, zone in learners.items():
        today = end.astimezone(ZoneInfo(zone)).date()
        expected = oracle(local_days[user_id], today)
        row = stored[user_id]
        streak = streaks.Streak(row.current_streak, row.longest_streak, row.last_study_date)
        shown = streaks.shown(streak, today, row.freezes_available)
        assert (shown, row.longest_streak) == expected, zone
        # After the midnight job the stored value agrees too.
        assert row.current_streak == expected[0], zone
        # The last studied day, or yesterday when freezes kept the streak since.
        assert row.last_study_date in {max(local_days[user_id]), today - timedelta(days=1)}, zone
