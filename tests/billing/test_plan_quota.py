"""Study's AI quotas follow the billing plan: an entitled subscription's plan quota replaces the
default plan, NULL is unlimited, and a subscription that ends falls back to the default."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from studyhall.accounts.models import User
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.kit.errors import RateLimited
from studyhall.study.models import AiQuotaCounter
from studyhall.study.service import quota
from tests.billing.conftest import Caller, make_admin, sign_up
from tests.billing.test_subscriptions import _plan, _subscribe


async def _user(owner_db: Database, caller: Caller) -> User:
    async with owner_db.transaction() as session:
        user = await session.get(User, caller.id)
        assert user is not None
        return user


async def _counters(owner_db: Database, caller: Caller) -> dict[str, tuple[int, int]]:
    """period → (limit, reserved)."""
    async with owner_db.transaction() as session:
        rows = (
            await session.scalars(select(AiQuotaCounter).where(AiQuotaCounter.user_id == caller.id))
        ).all()
    return {r.period: (r.limit_tokens, r.reserved_tokens) for r in rows}


async def _limits(db: Database, settings: Settings, caller: Caller) -> tuple[int, int]:
    async with db.transaction(caller.id) as session:
        found = await quota.plan_limits(session, settings, caller.id)
    return found.daily_tokens, found.monthly_tokens


async def test_a_subscription_plan_quota_replaces_the_default_and_an_upgrade_applies_at_once(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    tight = settings.model_copy(
        update={"ai_daily_token_limit": 1000, "ai_monthly_token_limit": 50_000}
    )
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    user = await _user(owner_db, student)
    assert await _limits(db, tight, student) == (1000, 50_000)

    await quota.reserve(db, tight, user, "chat", 1000)
    with pytest.raises(RateLimited) as refused:
        await quota.reserve(db, tight, user, "chat", 500)
    assert refused.value.code == "ai_quota_daily_exhausted"
    assert await _counters(owner_db, student) == {"day": (1000, 1000), "month": (50_000, 1000)}

    plan_id = await _plan(client, admin, ai_daily_token_quota=3000, ai_monthly_token_quota=100_000)
    assert (await _subscribe(client, student, plan_id))["subscription"]["status"] == "active"
    assert await _limits(db, tight, student) == (3000, 100_000)
    await quota.reserve(db, tight, user, "chat", 500)
    assert await _counters(owner_db, student) == {
        "day": (3000, 1500),
        "month": (100_000, 1500),
    }
    with pytest.raises(RateLimited):
        await quota.reserve(db, tight, user, "chat", 2000)
    await quota.reserve(db, tight, user, "chat", 1500)
    assert await _counters(owner_db, student) == {
        "day": (3000, 3000),
        "month": (100_000, 3000),
    }

    # Canceled now: back to the default plan; the lower limit waits for the next period, so the
    # counters (and the tokens already granted today) are left as they are.
    canceled = await client.post(
        "/api/v1/billing/subscriptions/current/cancel",
        json={"at_period_end": False},
        headers=student.headers,
    )
    assert canceled.status_code == 200, canceled.text
    assert await _limits(db, tight, student) == (1000, 50_000)
    with pytest.raises(RateLimited):
        await quota.reserve(db, tight, user, "chat", 1)
    assert await _counters(owner_db, student) == {
        "day": (3000, 3000),
        "month": (100_000, 3000),
    }


async def test_a_plan_without_a_quota_is_unlimited(
    client: httpx.AsyncClient, db: Database, owner_db: Database, settings: Settings
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    plan_id = await _plan(
        client, admin, key="unlimited", ai_daily_token_quota=None, ai_monthly_token_quota=None
    )
    await _subscribe(client, student, plan_id)
    assert await _limits(db, settings, student) == (
        quota.UNLIMITED_TOKENS,
        quota.UNLIMITED_TOKENS,
    )
    await quota.reserve(db, settings, await _user(owner_db, student), "chat", 10_000_000)
    assert await _counters(owner_db, student) == {
        "day": (quota.UNLIMITED_TOKENS, 10_000_000),
        "month": (quota.UNLIMITED_TOKENS, 10_000_000),
    }
