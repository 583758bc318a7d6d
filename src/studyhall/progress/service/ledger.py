"""The XP ledger: ``record`` turns one learning event into ledger rows, board totals, the day's
streak and any achievements, all inside the caller's transaction.

A replayed event (a retried request, a duplicated job) inserts no ledger row because of the
ledger's unique key, and then nothing else happens: no board change, no achievement, no
notification.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.jobs import enqueue, queue
from studyhall.kit.timezones import local_date, validate_zone
from studyhall.progress.models import Achievement, XpLog
from studyhall.progress.service import (
    achievements,
    freezes,
    mastery,
    recommendations,
    rules,
    streaks,
)
from studyhall.progress.service.entries import write
from studyhall.progress.service.events import (
    CardReviewed,
    Event,
    LessonCompleted,
    QuestionAsked,
    QuizCompleted,
    StudyTime,
)

# An achievement's XP can unlock an XP achievement, which can unlock another: a few rounds
# settle every chain the definitions can express.
_ACHIEVEMENT_ROUNDS = 5


@dataclass
class Recorded:
    xp: int = 0
    unlocked: list[achievements.Unlocked] = field(default_factory=list)
    streak_changed: bool = False


async def zone_of(session: AsyncSession, user_id: uuid.UUID) -> str:
    zone = await session.scalar(select(User.timezone).where(User.id == user_id))
    return zone or "UTC"


async def _paid_questions(session: AsyncSession, user_id: uuid.UUID, day: date) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(XpLog)
        .where(
            XpLog.user_id == user_id,
            XpLog.local_date == day,
            XpLog.source_type == "doubt",
            XpLog.xp_amount > 0,
        )
    )
    return int(count or 0)


async def _entries(session: AsyncSession, event: Event, day: date) -> list[rules.Entry]:
    match event:
        case QuizCompleted():
            return rules.quiz(event.quiz_id, event.attempt_id, event.score_percentage)
        case LessonCompleted():
            return rules.lesson(event.lesson_id)
        case CardReviewed():
            return rules.review(event.card_id, event.rating, day)
        case QuestionAsked():
            paid = await _paid_questions(session, event.user_id, day)
            return rules.question(event.message_id, paid)
        case StudyTime():
            return rules.study_time(event.session_id, event.seconds)


async def award_achievements(
    session: AsyncSession, user_id: uuid.UUID, at: datetime, day: date
) -> list[achievements.Unlocked]:
    unlocked: list[achievements.Unlocked] = []
    for _ in range(_ACHIEVEMENT_ROUNDS):
        new = await achievements.earned(session, user_id)
        if not new:
            break
        unlocked += new
        rewards = [
            rules.Entry("achievement", item.achievement_id, "achievement_unlocked", item.xp_reward)
            for item in new
        ]
        await write(session, user_id, rewards, at, day)
    return unlocked


async def _mastery(session: AsyncSession, event: QuizCompleted) -> None:
    if not event.answers or event.topic is None:
        return
    answers = [mastery.Answer(a.concept, a.correct) for a in event.answers]
    topic = event.topic
    await mastery.record_topic(
        session, event.user_id, topic.topic_id, answers, topic.difficulty_level, event.at
    )
    await mastery.record_concepts(
        session,
        event.user_id,
        topic.subject,
        topic.topic_id,
        answers,
        topic.difficulty_level,
        event.at,
    )


async def record(session: AsyncSession, event: Event) -> Recorded:
    """Apply one learning event for its learner, in the caller's transaction."""
    profile, zone = await streaks.lock_profile_and_zone(session, event.user_id)
    day = local_date(event.at, validate_zone(zone))
    entries = await _entries(session, event, day)
    if isinstance(event, CardReviewed) and event.topic is not None:
        # Every review moves the topic's card retrievability, also a second one the same day
        # (which pays no XP): the value is the cards' state, not a reward.
        topic = event.topic
        await mastery.record_cards(
            session, event.user_id, topic.topic_id, topic.retrievability, event.at
        )
    amounts = await write(session, event.user_id, entries, event.at, day)
    if not amounts:
        return Recorded()
    result = Recorded(xp=sum(amounts))
    if await streaks.goal_met(session, profile, entries[0].source_type, day):
        await freezes.spend_for_gap(session, profile, day)
        result.streak_changed = streaks.count_day(profile, day)
        if result.streak_changed:
            await freezes.earn_on_milestone(session, profile, day)
        await session.flush()
    if isinstance(event, QuizCompleted):
        await _mastery(session, event)
    result.unlocked = await award_achievements(session, event.user_id, event.at, day)
    result.xp += sum(item.xp_reward for item in result.unlocked)
    await _refresh_recommendations_after(session, event.user_id)
    return result


# A refresh of this learner's recommendations already waiting to run, locked so no worker
# starts it before this transaction commits: it will then see this event too, so a second job
# is not needed (a learner answering quickly queues one refresh, not one per answer). Workers
# fetch jobs with SKIP LOCKED, so they pass over it meanwhile.
_WAITING_REFRESH = text(
    "SELECT id FROM procrastinate_jobs WHERE lock = :lock AND task_name = :task"
    " AND status = 'todo' LIMIT 1 FOR UPDATE"
)


async def _refresh_recommendations_after(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Advice changes with the event (a weaker concept, the next lesson, a saved streak): a job
    queued in the event's transaction recomputes it once the event is committed. One learner's
    refreshes run one at a time (the lock); the caller holds the learner's streak row, so two
    events of one learner do not both find no waiting job."""
    task = queue.tasks[recommendations.REFRESH_TASK]
    lock = f"progress.recommendations:{user_id}"
    if await session.scalar(_WAITING_REFRESH, {"lock": lock, "task": task.name}) is not None:
        return
    await enqueue(session, task, lock=lock, user_id=str(user_id))


async def award_retroactively(
    session: AsyncSession, achievement_id: uuid.UUID, now: datetime, batch: int
) -> tuple[int, bool]:
    """One batch of a definition added or lowered later: unlock it (with its XP and notification)
    for learners who already qualify. Returns how many, and whether more may be waiting."""
    achievement = await session.get(Achievement, achievement_id)
    if achievement is None or not achievement.is_active:
        return 0, False
    users = await achievements.qualifying(session, achievement, batch)
    awarded = 0
    for user_id in users:
        _, zone = await streaks.lock_profile_and_zone(session, user_id)
        unlocked = await achievements.unlock(session, user_id, achievement)
        if unlocked is None:
            continue
        awarded += 1
        day = local_date(now, validate_zone(zone))
        reward = unlocked.xp_reward
        entry = rules.Entry("achievement", achievement.id, "achievement_unlocked", reward)
        await write(session, user_id, [entry], now, day)
        await award_achievements(session, user_id, now, day)
    return awarded, len(users) == batch
