"""Billing test helpers: users through the real sign-up, admins through the owner role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from studyhall.billing.config import BillingSettings, configure_billing
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users
from tests.billing.fakes import FakeApi, serve


@dataclass(frozen=True)
class Caller:
    id: uuid.UUID
    headers: dict[str, str]

    def with_key(self, key: str | None = None) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}


SECRET = "whsec_current_secret"
OLD_SECRET = "whsec_previous_secret"
HMAC_SECRET = "paymob-hmac-current"
OLD_HMAC_SECRET = "paymob-hmac-previous"


@pytest.fixture
def fake_stripe() -> Iterator[FakeApi]:
    """Stripe configured against a local stand-in, with two webhook secrets (rotation)."""
    with serve("stripe") as api:
        use_billing(
            default_provider="stripe",
            stripe_api_key=SecretStr("sk_test_local"),
            stripe_api_base=api.url,
            stripe_webhook_secrets=[SecretStr(SECRET), SecretStr(OLD_SECRET)],
        )
        yield api


@pytest.fixture
def fake_paymob() -> Iterator[FakeApi]:
    """Paymob configured against a local stand-in, with two HMAC secrets (rotation)."""
    with serve("paymob") as api:
        use_billing(
            default_provider="paymob",
            paymob_secret_key=SecretStr("egy_sk_test"),
            paymob_public_key="egy_pk_test",
            paymob_integration_id=4097558,
            paymob_api_key=SecretStr(api.paymob_api_key),
            paymob_api_base=api.url,
            paymob_hmac_secrets=[SecretStr(HMAC_SECRET), SecretStr(OLD_HMAC_SECRET)],
        )
        yield api


# The tests' deployment takes money through every provider unless a test says otherwise.
ALL_PROVIDERS = ["manual", "stripe", "paymob"]


@pytest.fixture(autouse=True)
def billing_config() -> Iterator[BillingSettings]:
    settings = use_billing()
    yield settings
    configure_billing(None)


def use_billing(**changes: object) -> BillingSettings:
    changes.setdefault("enabled_providers", ALL_PROVIDERS)
    settings = BillingSettings(_env_file=None, **changes)  # type: ignore[arg-type]
    configure_billing(settings)
    return settings


async def sign_up(client: httpx.AsyncClient, role: str = "student") -> Caller:
    response = await client.post(
        "/api/v1/auth/sign-up",
        json={
            "email": f"{uuid.uuid4().hex[:10]}@example.org",
            "password": "a long enough passphrase",
            "name": "Nour Adel",
            "role": role,
            "timezone": "Africa/Cairo",
        },
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return Caller(uuid.UUID(me.json()["id"]), headers)


async def make_admin(client: httpx.AsyncClient, owner_db: Database) -> Caller:
    caller = await sign_up(client, "tutor")
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": caller.id}
        )
    return caller


async def create_pack(
    client: httpx.AsyncClient,
    admin: Caller,
    *,
    credits: int = 100,
    price_cents: int = 1000,
    currency: str = "USD",
) -> str:
    response = await client.post(
        "/api/v1/billing/admin/credit-packs",
        json={
            "name": f"{credits} pack",
            "credits": credits,
            "price_cents": price_cents,
            "currency": currency,
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def scalar(db: Database, sql: str, **params: object) -> object:
    """One value, read across every user's rows (as trusted code may)."""
    async with db.transaction() as session:
        await cross_users(session)
        return await session.scalar(text(sql), params)


async def ledger_consistent(db: Database, user_id: uuid.UUID) -> tuple[int, int]:
    """The cached balance and the ledger's sum, after checking the chain is unbroken."""
    async with db.transaction(user_id) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT seq, delta, balance_after FROM credit_ledger "
                    "WHERE user_id = :u ORDER BY seq"
                ),
                {"u": user_id},
            )
        ).all()
        cached = await session.scalar(
            text("SELECT credit_balance FROM student_profiles WHERE user_id = :u"), {"u": user_id}
        )
    running = 0
    for expected_seq, (seq, delta, balance_after) in enumerate(rows, start=1):
        assert seq == expected_seq
        running += delta
        assert balance_after == running
        assert balance_after >= 0
    return int(cached or 0), running
