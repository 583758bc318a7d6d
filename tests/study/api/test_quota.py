"""Token quotas: reserve-then-settle under real concurrency, 402/429, expiry, usage rows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from studyhall.accounts.models import User
from studyhall.app import create_app
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from studyhall.jobs import core as jobs
from studyhall.kit.errors import PaymentRequired, RateLimited
from studyhall.study.models import AiArtifact, AiQuotaCounter, AiQuotaReservation, AiUsage
from studyhall.study.service import quota
from tests.conftest import run_jobs
from tests.study.api.conftest import API, sign_up, upload
from tests.study.api.docs import PHOTOSYNTHESIS


async def _user(owner_db: Database, user_id: str) -> User:
    async with owner_db.transaction() as session:
        user = await session.get(User, uuid.UUID(user_id))
        assert user is not None
        return user


async def _expire(owner_db: Database, reservation_id: uuid.UUID) -> None:
    """As if the process that reserved had died an hour ago."""
    async with owner_db.transaction() as session:
        await session.execute(
            update(AiQuotaReservation)
            .where(AiQuotaReservation.id == reservation_id)
            .values(expires_at=datetime.now(UTC) - timedelta(hours=1))
        )


async def _counters(owner_db: Database) -> dict[str, tuple[int, int, int]]:
    async with owner_db.transaction() as session:
        rows = (await session.scalars(select(AiQuotaCounter))).all()
    return {r.period: (r.limit_tokens, r.reserved_tokens, r.used_tokens) for r in rows}


async def _usage_statuses(owner_db: Database) -> list[str]:
    async with owner_db.transaction() as session:
        return list((await session.scalars(select(AiUsage.status).order_by(AiUsage.status))).all())


async def test_concurrent_reservations_never_overrun_the_daily_limit(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com", timezone="Pacific/Auckland")
    user = await _user(owner_db, alice.id)
    tight = settings.model_copy(update={"ai_daily_token_limit": 5000})

    async def attempt() -> str:
        try:
            await quota.reserve(db, tight, user, "chat", 1000)
        except RateLimited as exc:
            assert exc.code == "ai_quota_daily_exhausted"
            return "refused"
        return "reserved"

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))
    assert sorted(outcomes) == ["refused"] * 15 + ["reserved"] * 5
    counters = await _counters(owner_db)
    assert counters == {"day": (5000, 5000, 0), "month": (settings.ai_monthly_token_limit, 5000, 0)}
    assert await _usage_statuses(owner_db) == ["rejected"] * 15
    async with owner_db.transaction() as session:
        day = await session.scalar(
            select(AiQuotaCounter.period_start).where(AiQuotaCounter.period == "day")
        )
    # The day is Alice's local day (Auckland), not the UTC one.
    from zoneinfo import ZoneInfo

    assert day == datetime.now(UTC).astimezone(ZoneInfo("Pacific/Auckland")).date()


async def test_concurrent_artifact_requests_get_429_past_the_limit(
    settings: Settings, db: Database, owner_db: Database
) -> None:
    # The material has a known token count; each request reserves it plus the output budget.
    probe = settings.model_copy(update={"llm_max_output_tokens": 100})
    app = create_app(probe, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        alice = await sign_up(client, "alice@example.com")
        material = await upload(client, alice, "bio.md", PHOTOSYNTHESIS.encode())
    async with owner_db.transaction() as session:
        from studyhall.study.models import MaterialChunk

        tokens = int(await session.scalar(select(func.sum(MaterialChunk.token_count))) or 0)
    per_request = tokens + 100
    limited = probe.model_copy(update={"ai_daily_token_limit": 3 * per_request + per_request // 2})
    jobs.configure_runtime(jobs.Runtime(settings=limited, database=db))
    app = create_app(limited, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{API}/artifacts",
                    headers=alice.headers,
                    json={"type": "summary", "material_id": material["id"], "max_items": 2},
                )
                for _ in range(10)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [202] * 3 + [429] * 7
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.json()["code"] == "ai_quota_daily_exhausted"
        assert int(refused.headers["Retry-After"]) >= 1
        assert await _counters(owner_db) == {
            "day": (limited.ai_daily_token_limit, 3 * per_request, 0),
            "month": (limited.ai_monthly_token_limit, 3 * per_request, 0),
        }
        async with owner_db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(AiArtifact)) == 3

        # Settling returns the unused part of each reservation.
        await run_jobs()
        async with owner_db.transaction() as session:
            totals = (
                await session.scalars(
                    select(AiUsage.total_tokens).where(AiUsage.status == "succeeded")
                )
            ).all()
            used = sum(min(total, per_request) for total in totals)
            statuses_left = (await session.scalars(select(AiQuotaReservation.status))).all()
        assert sorted(statuses_left) == ["settled"] * 3
        assert len(totals) == 3 and 0 < used <= 3 * per_request
        # Without a model the offline engine answered: its runs are recorded, not charged.
        assert await _counters(owner_db) == {
            "day": (limited.ai_daily_token_limit, 0, 0),
            "month": (limited.ai_monthly_token_limit, 0, 0),
        }


async def test_monthly_exhaustion_is_402_and_changes_no_counter(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com")
    user = await _user(owner_db, alice.id)
    small = settings.model_copy(update={"ai_monthly_token_limit": 1500})
    await quota.reserve(db, small, user, "quiz", 1000)
    with pytest.raises(PaymentRequired) as refused:
        await quota.reserve(db, small, user, "quiz", 1000)
    assert refused.value.code == "ai_quota_monthly_exhausted"
    counters = await _counters(owner_db)
    assert counters["month"] == (1500, 1000, 0)
    assert counters["day"] == (settings.ai_daily_token_limit, 1000, 0)

    app = create_app(small, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        thread = (await http.post(f"{API}/chat/threads", headers=alice.headers, json={})).json()
        response = await http.post(
            f"{API}/chat/threads/{thread['id']}/messages",
            headers=alice.headers,
            json={"content": "What is photosynthesis?"},
        )
        assert (response.status_code, response.json()["code"]) == (
            402,
            "ai_quota_monthly_exhausted",
        )
        messages = await http.get(
            f"{API}/chat/threads/{thread['id']}/messages", headers=alice.headers
        )
        assert messages.json() == {"items": [], "next_cursor": None}
    assert await _usage_statuses(owner_db) == ["rejected", "rejected"]


async def test_expired_reservations_are_released_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com")
    user = await _user(owner_db, alice.id)
    kept = await quota.reserve(db, settings, user, "chat", 700)
    stale = await quota.reserve(db, settings, user, "chat", 300)
    await _expire(owner_db, stale.id)
    async with db.transaction() as session:
        await cross_users(session)
        assert await quota.release_expired(session) == 1
        assert await quota.release_expired(session) == 0
        assert (
            await quota.settle(session, stale.id, [quota.UsageCall("gpt-4o-mini", 10, 5)]) is False
        )
        assert await quota.settle(session, kept.id, [quota.UsageCall("gpt-4o-mini", 1000, 200)])
    counters = await _counters(owner_db)
    # The call used more than reserved: the counter is charged the reservation, the row the truth.
    assert counters["month"][1:] == (0, 700)
    async with owner_db.transaction() as session:
        row = (await session.scalars(select(AiUsage))).one()
        statuses = dict(
            (await session.execute(select(AiQuotaReservation.id, AiQuotaReservation.status))).all()
        )
    assert (row.total_tokens, row.estimated_cost_micros, row.cost_currency) == (1200, 270, "USD")
    assert statuses == {kept.id: "settled", stale.id: "released"}


def test_cost_estimates_follow_the_price_table() -> None:
    assert quota.estimate_cost_micros("gpt-4o-mini", 1_000_000, 1_000_000) == 750_000
    assert quota.estimate_cost_micros("gpt-4o", 1, 0) == 3  # rounded up, never free
    assert quota.estimate_cost_micros("my-local-llama", 5000, 5000) == 0
    assert quota.estimate_cost_micros(quota.OFFLINE_MODEL, 5000, 5000) == 0


def test_periods_are_local_days() -> None:
    starts = quota._period_starts("America/Los_Angeles", datetime(2026, 3, 1, 5, 0, tzinfo=UTC))
    assert starts == (date(2026, 2, 28), date(2026, 2, 1))


async def test_a_new_reservation_first_frees_the_users_expired_ones(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    alice = await sign_up(client, "alice@example.com")
    user = await _user(owner_db, alice.id)
    tight = settings.model_copy(update={"ai_daily_token_limit": 1000})
    stale = await quota.reserve(db, tight, user, "chat", 1000)
    await _expire(owner_db, stale.id)
    fresh = await quota.reserve(db, tight, user, "chat", 1000)
    assert await _counters(owner_db) == {
        "day": (1000, 1000, 0),
        "month": (settings.ai_monthly_token_limit, 1000, 0),
    }
    async with owner_db.transaction() as session:
        statuses = dict(
            (await session.execute(select(AiQuotaReservation.id, AiQuotaReservation.status))).all()
        )
    assert statuses == {stale.id: "released", fresh.id: "reserved"}
