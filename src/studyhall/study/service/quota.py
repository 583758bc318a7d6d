"""AI token quotas: reserve before a model call, settle after it, and log every metered call.

A reservation is a conditional ``UPDATE … WHERE reserved + used + n <= limit`` on the day and
month counters; the row lock serialises concurrent requests, and a CHECK constraint backs the
rule, so no interleaving can overrun a limit. Reservations commit in their own short
transaction so no lock is held while a model is thinking: a row lock never waits on the
network.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import User
from studyhall.billing import service as billing
from studyhall.config import Settings, get_settings
from studyhall.db.engine import Database, create_engine
from studyhall.kit.errors import PaymentRequired, RateLimited
from studyhall.kit.metrics import count_ai_tokens
from studyhall.study.models import AiQuotaCounter, AiQuotaReservation, AiUsage

__all__ = [
    "OFFLINE_MODEL",
    "PRICES_MICROS_PER_MILLION",
    "UNLIMITED_TOKENS",
    "Reservation",
    "UsageCall",
    "estimate_cost_micros",
    "plan_limits",
    "record_usage",
    "release_expired",
    "reserve",
    "settle",
    "usage_summary",
]

OFFLINE_MODEL = "offline-extractive"
RESERVATION_TTL = timedelta(minutes=30)

# USD micros per million tokens (input, output); list prices, used for estimates only.
PRICES_MICROS_PER_MILLION: dict[str, tuple[int, int]] = {
    OFFLINE_MODEL: (0, 0),
    "gpt-4o-mini": (150_000, 600_000),
    "gpt-4o": (2_500_000, 10_000_000),
    "gpt-4.1-mini": (400_000, 1_600_000),
    "gpt-4.1-nano": (100_000, 400_000),
    "text-embedding-3-small": (20_000, 0),
    "text-embedding-3-large": (130_000, 0),
}


def estimate_cost_micros(model: str | None, prompt_tokens: int, completion_tokens: int) -> int:
    """Unknown models (self-hosted ones) cost 0: there is no list price to estimate from."""
    price_in, price_out = PRICES_MICROS_PER_MILLION.get(model or "", (0, 0))
    total = prompt_tokens * price_in + completion_tokens * price_out
    return -(-total // 1_000_000)


@dataclass(frozen=True)
class UsageCall:
    """One model call (or one offline engine run) as metered."""

    model: str | None
    prompt_tokens: int
    completion_tokens: int
    status: str = "succeeded"
    error: str | None = None

    @property
    def offline(self) -> bool:
        return self.model == OFFLINE_MODEL


@dataclass(frozen=True)
class Reservation:
    id: uuid.UUID
    user_id: uuid.UUID
    feature: str
    tokens: int


@dataclass(frozen=True)
class Limits:
    daily_tokens: int
    monthly_tokens: int


# A plan quota of NULL means unlimited; the counters need a number, and this one is never reached.
UNLIMITED_TOKENS = 2**62


async def plan_limits(session: AsyncSession, settings: Settings, user_id: uuid.UUID) -> Limits:
    """The caller's quota: an entitled subscription's plan (billing), else the default plan
    (``STUDYHALL_AI_DAILY_TOKEN_LIMIT`` / ``…_MONTHLY_…``), which also covers a lapsed one."""
    granted = await billing.entitlements(session, user_id)
    if not granted.entitled:
        return Limits(settings.ai_daily_token_limit, settings.ai_monthly_token_limit)
    daily, monthly = granted.ai_daily_token_quota, granted.ai_monthly_token_quota
    return Limits(
        UNLIMITED_TOKENS if daily is None else daily,
        UNLIMITED_TOKENS if monthly is None else monthly,
    )


def side_database(database: Database) -> Database:
    """A small pool of its own for reservations, which run while the request holds its connection.

    On the shared pool, N concurrent requests holding N connections and each waiting for one
    more would wait on each other until the pool timeout; here a reservation never waits for a
    connection that a waiting request holds.
    """
    side: Database | None = getattr(database, "_quota_side", None)
    if side is None:
        settings = database.settings or get_settings()
        engine = create_engine(
            database.engine.url.render_as_string(hide_password=False),
            settings,
            pool_size=settings.db_quota_pool_size,
            max_overflow=0,
            application_name="studyhall-quota",
        )
        side = Database.over(engine, settings)
        database._quota_side = side  # type: ignore[attr-defined]
    return side


def _period_starts(zone: str, now: datetime) -> tuple[date, date]:
    """Today and the first of this month in the user's zone: days are local, not UTC."""
    try:
        local = now.astimezone(ZoneInfo(zone)).date()
    except (KeyError, ValueError):
        local = now.astimezone(UTC).date()
    return local, local.replace(day=1)


def _seconds_to_next_day(zone: str, now: datetime) -> int:
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tz)
    return max(1, int((midnight - local).total_seconds()))


async def _take(
    session: AsyncSession,
    user_id: uuid.UUID,
    period: str,
    start: date,
    limit: int,
    tokens: int,
) -> bool:
    await session.execute(
        pg_insert(AiQuotaCounter)
        .values(user_id=user_id, period=period, period_start=start, limit_tokens=limit)
        # An upgrade raises this period's limit at once; a lower limit (a downgrade or a lapse)
        # starts with the next period, since tokens already used may exceed it (CHECK within_limit).
        .on_conflict_do_update(
            index_elements=["user_id", "period", "period_start"],
            set_={"limit_tokens": limit},
            where=AiQuotaCounter.limit_tokens < limit,
        )
    )
    taken = await session.scalar(
        update(AiQuotaCounter)
        .where(
            AiQuotaCounter.user_id == user_id,
            AiQuotaCounter.period == period,
            AiQuotaCounter.period_start == start,
            AiQuotaCounter.reserved_tokens + AiQuotaCounter.used_tokens + tokens
            <= AiQuotaCounter.limit_tokens,
        )
        .values(reserved_tokens=AiQuotaCounter.reserved_tokens + tokens)
        .returning(AiQuotaCounter.id)
    )
    return taken is not None


async def reserve(
    database: Database,
    settings: Settings,
    user: User,
    feature: str,
    tokens: int,
    *,
    now: datetime | None = None,
) -> Reservation:
    """Reserve ``tokens`` on the user's month and day counters, or raise 402 / 429.

    A refusal is recorded as a ``rejected`` usage row, committed even though the caller fails.
    """
    now = now or datetime.now(UTC)
    tokens = max(1, tokens)
    day, month = _period_starts(user.timezone, now)
    async with side_database(database).transaction(user.id) as session:
        await release_expired(session, user.id)
        limits = await plan_limits(session, settings, user.id)
        refusal: PaymentRequired | RateLimited | None = None
        # Month before day, always: one lock order for every transaction, so no deadlock.
        savepoint = await session.begin_nested()
        if not await _take(session, user.id, "month", month, limits.monthly_tokens, tokens):
            refusal = PaymentRequired(
                f"Your monthly AI allowance of {limits.monthly_tokens} tokens is used up; "
                "upgrade your plan or wait for next month.",
                code="ai_quota_monthly_exhausted",
            )
        elif not await _take(session, user.id, "day", day, limits.daily_tokens, tokens):
            refusal = RateLimited(
                f"Your daily AI allowance of {limits.daily_tokens} tokens is used up; "
                "it renews at midnight in your time zone.",
                retry_after_s=_seconds_to_next_day(user.timezone, now),
                code="ai_quota_daily_exhausted",
            )
        if refusal is not None:
            await savepoint.rollback()
            await record_usage(
                session, user.id, feature, None, 0, 0, "rejected", metadata={"code": refusal.code}
            )
        else:
            await savepoint.commit()
            reservation_id = await session.scalar(
                insert(AiQuotaReservation)
                .values(
                    user_id=user.id,
                    feature=feature,
                    tokens_reserved=tokens,
                    day_start=day,
                    month_start=month,
                    expires_at=now + RESERVATION_TTL,
                )
                .returning(AiQuotaReservation.id)
            )
    if refusal is not None:
        raise refusal
    assert reservation_id is not None
    return Reservation(reservation_id, user.id, feature, tokens)


async def _return_tokens(
    session: AsyncSession, reservation: AiQuotaReservation, charged: int
) -> None:
    for period, start in (("month", reservation.month_start), ("day", reservation.day_start)):
        await session.execute(
            update(AiQuotaCounter)
            .where(
                AiQuotaCounter.user_id == reservation.user_id,
                AiQuotaCounter.period == period,
                AiQuotaCounter.period_start == start,
            )
            .values(
                reserved_tokens=AiQuotaCounter.reserved_tokens - reservation.tokens_reserved,
                used_tokens=AiQuotaCounter.used_tokens + charged,
            )
        )


async def _claim(
    session: AsyncSession, reservation_id: uuid.UUID, status: str
) -> AiQuotaReservation | None:
    """Move an open reservation to ``status``; None when it was already closed (a retry)."""
    claimed = await session.scalar(
        update(AiQuotaReservation)
        .where(AiQuotaReservation.id == reservation_id, AiQuotaReservation.status == "reserved")
        .values(status=status, settled_at=text("now()"))
        .returning(AiQuotaReservation)
    )
    return claimed


async def settle(
    session: AsyncSession,
    reservation_id: uuid.UUID,
    calls: Sequence[UsageCall],
    *,
    thread_id: uuid.UUID | None = None,
    artifact_id: uuid.UUID | None = None,
    metadata: dict[str, object] | None = None,
) -> bool:
    """Charge what the calls used (at most what was reserved) and write one usage row each."""
    reservation = await _claim(session, reservation_id, "settled")
    if reservation is None:
        return False
    # The counters never pass the limit: calls that used more than the reservation (our token
    # estimate is not the model's tokenizer) are charged the reservation; usage rows keep truth.
    # Offline engine runs are in-process work, not model tokens: their rows are statistics
    # (status, sizes), never charged to the quota meant for model calls.
    used = sum(call.prompt_tokens + call.completion_tokens for call in calls if not call.offline)
    await _return_tokens(session, reservation, min(used, reservation.tokens_reserved))
    for call in calls:
        extra = dict(metadata or {})
        if call.error:
            extra["error"] = call.error
        await record_usage(
            session,
            reservation.user_id,
            reservation.feature,
            call.model,
            call.prompt_tokens,
            call.completion_tokens,
            call.status,
            thread_id=thread_id,
            artifact_id=artifact_id,
            reservation_id=reservation_id,
            metadata=extra or None,
        )
    return True


async def release(session: AsyncSession, reservation_id: uuid.UUID) -> bool:
    """Give back a reservation whose call never happened."""
    reservation = await _claim(session, reservation_id, "released")
    if reservation is None:
        return False
    await _return_tokens(session, reservation, 0)
    return True


async def release_expired(session: AsyncSession, user_id: uuid.UUID | None = None) -> int:
    """Reservations of calls that died (a killed process) stop blocking the quota.

    ``reserve`` calls this for its user first, so a quota heals without a periodic job.
    """
    condition = [
        AiQuotaReservation.status == "reserved",
        AiQuotaReservation.expires_at < text("now()"),
    ]
    if user_id is not None:
        condition.append(AiQuotaReservation.user_id == user_id)
    expired = (
        await session.scalars(
            select(AiQuotaReservation.id)
            .where(*condition)
            .order_by(AiQuotaReservation.expires_at)
            .limit(1000)
        )
    ).all()
    released = 0
    for reservation_id in expired:
        released += await release(session, reservation_id)
    return released


async def record_usage(
    session: AsyncSession,
    user_id: uuid.UUID,
    feature: str,
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    status: str,
    *,
    thread_id: uuid.UUID | None = None,
    artifact_id: uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
    metadata: dict[str, object] | None = None,
) -> None:
    count_ai_tokens(feature, prompt_tokens, completion_tokens)
    await session.execute(
        insert(AiUsage).values(
            user_id=user_id,
            feature=feature,
            model_name=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
            estimated_cost_micros=estimate_cost_micros(model, prompt_tokens, completion_tokens),
            status=status,
            thread_id=thread_id,
            artifact_id=artifact_id,
            reservation_id=reservation_id,
            metadata_=metadata,
        )
    )


# What the usage page shows: the current day and month counters, and the latest calls.
SHOWN_COUNTERS = 4
SHOWN_CALLS = 50


async def usage_summary(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[Sequence[AiQuotaCounter], Sequence[AiUsage]]:
    """The user's newest quota counters and their last metered calls, newest first."""
    counters = (
        await session.scalars(
            select(AiQuotaCounter)
            .where(AiQuotaCounter.user_id == user_id)
            .order_by(AiQuotaCounter.period_start.desc(), AiQuotaCounter.period)
            .limit(SHOWN_COUNTERS)
        )
    ).all()
    calls = (
        await session.scalars(
            select(AiUsage)
            .where(AiUsage.user_id == user_id)
            .order_by(AiUsage.created_at.desc(), AiUsage.id)
            .limit(SHOWN_CALLS)
        )
    ).all()
    return counters, calls
