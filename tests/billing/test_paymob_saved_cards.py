"""Paymob saved cards: TOKEN callbacks (own HMAC field order) store an encrypted card, and the
renewal job charges it (MOTO) once per period, outside any transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dateutil.relativedelta import relativedelta
from pydantic import SecretStr
from sqlalchemy import text

from studyhall.accounts.service.encryption import KeyRing, new_key
from studyhall.billing.cli import rotate_keys
from studyhall.billing.config import billing_settings, configure_billing
from studyhall.billing.jobs import charge_saved_card
from studyhall.billing.service import subscriptions
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.billing.conftest import (
    HMAC_SECRET,
    Caller,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
)
from tests.billing.fakes import FakeApi, paymob_transaction
from tests.billing.test_paymob import CALLBACK, callback
from tests.billing.test_subscriptions import _end_period_at, _entitlements, _plan
from tests.conftest import run_jobs

KEY_SPEC = f"k1:{new_key()}"
MOTO_INTEGRATION_ID = 4111111
CARD_TOKEN = "e98aceb96f5a370ddf46460db9d555f88bf12448f80e1839b39f78ab"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"encryption_keys": SecretStr(KEY_SPEC)})


@pytest.fixture
def paymob(fake_paymob: FakeApi) -> FakeApi:
    configure_billing(
        billing_settings().model_copy(
            update={"paymob_moto_integration_id": MOTO_INTEGRATION_ID, "subscription_grace_days": 3}
        )
    )
    return fake_paymob


def card_token(order_id: int, token: str = CARD_TOKEN, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": 8555026,
        "token": token,
        "masked_pan": "xxxx-xxxx-xxxx-2346",
        "merchant_id": 246628,
        "card_subtype": "MasterCard",
        "created_at": "2024-11-13T12:32:23.859982",
        "email": "test@test.com",
        "order_id": str(order_id),
        "user_added": False,
    }
    obj.update(changes)
    return obj


def token_signature(obj: dict[str, Any], secret: str = HMAC_SECRET) -> str:
    # Paymob's card token HMAC: these eight fields, sorted by name, values concatenated.
    fields = ("card_subtype", "created_at", "email", "id", "masked_pan", "merchant_id")
    text_ = "".join(str(obj[name]) for name in (*fields, "order_id", "token"))
    return hmac.new(secret.encode(), text_.encode(), hashlib.sha512).hexdigest()


async def token_callback(
    client: httpx.AsyncClient, obj: dict[str, Any], hmac_value: str | None = None
) -> httpx.Response:
    return await client.post(
        CALLBACK,
        params={"hmac": hmac_value or token_signature(obj)},
        content=json.dumps({"type": "TOKEN", "obj": obj}),
        headers={"Content-Type": "application/json"},
    )


@dataclass(frozen=True)
class Member:
    caller: Caller
    subscription_id: str
    order_id: int


async def subscribed_with_card(
    client: httpx.AsyncClient, owner_db: Database, db: Database, *, save_card: bool = True
) -> Member:
    """A student pays the first month through Paymob's checkout and saves the card."""
    admin = await make_admin(client, owner_db)
    plan_id = await _plan(client, admin, price_cents=20000, currency="EGP")
    student = await sign_up(client)
    started = await client.post(
        "/api/v1/billing/subscriptions",
        json={"plan_id": plan_id, "provider": "paymob"},
        headers=student.with_key(),
    )
    assert started.status_code == 201, started.text
    payment_id = started.json()["payment"]["payment"]["id"]
    order_id = int(str(await scalar(db, "SELECT provider_checkout_id FROM payments")))
    first = paymob_transaction(1001, order_id, payment_id, amount_cents=20000)
    assert (await callback(client, first)).status_code == 200
    if save_card:
        assert (await token_callback(client, card_token(order_id))).status_code == 200
    await run_jobs()
    subscription = (
        await client.get("/api/v1/billing/subscriptions/current", headers=student.headers)
    ).json()
    assert subscription["status"] == "active"
    return Member(student, subscription["id"], order_id)


async def cards(client: httpx.AsyncClient, caller: Caller) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/billing/payment-methods", headers=caller.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()["items"]
    return body


async def test_a_token_callback_saves_the_card_encrypted_and_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database, paymob: FakeApi
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    [card] = await cards(client, member.caller)
    assert set(card) == {"id", "provider", "masked_pan", "brand", "created_at"}
    assert (card["provider"], card["masked_pan"], card["brand"]) == (
        "paymob",
        "xxxx-xxxx-xxxx-2346",
        "MasterCard",
    )
    async with owner_db.transaction() as session:
        row = (
            await session.execute(
                text("SELECT token_encrypted, encryption_key_id, token_sha256 FROM payment_methods")
            )
        ).one()
    assert CARD_TOKEN.encode() not in bytes(row.token_encrypted)
    assert row.token_sha256 == hashlib.sha256(CARD_TOKEN.encode()).hexdigest()
    plain = KeyRing.parse(KEY_SPEC).decrypt(
        row.encryption_key_id, bytes(row.token_encrypted), uuid.UUID(card["id"]).bytes
    )
    assert plain == CARD_TOKEN

    # Paymob's retry of the callback, and the same card reported again under a new id.
    again = await token_callback(client, card_token(member.order_id))
    assert again.json() == {"received": True, "duplicate": True, "event_id": "token:8555026"}
    assert (await token_callback(client, card_token(member.order_id, id=8555027))).json()[
        "duplicate"
    ] is False
    await run_jobs()
    assert len(await cards(client, member.caller)) == 1
    assert await scalar(db, "SELECT count(*) FROM payment_methods") == 1


async def test_token_callbacks_with_a_bad_hmac_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, db: Database, paymob: FakeApi
) -> None:
    obj = card_token(217500001)
    wrong = await token_callback(client, obj, token_signature(obj, "not-the-secret"))
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_signature")
    tampered = dict(obj, token="f" * 56)
    assert (await token_callback(client, tampered, token_signature(obj))).status_code == 400
    # Signed as a transaction instead of as a card token: the field order is the card token's.
    as_transaction = await client.post(
        CALLBACK,
        params={"hmac": token_signature(obj)},
        content=json.dumps({"type": "TRANSACTION", "obj": obj}),
    )
    assert as_transaction.status_code == 400
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 0


async def test_a_token_for_an_unknown_order_waits_for_its_payment(
    client: httpx.AsyncClient, db: Database, paymob: FakeApi
) -> None:
    assert (await token_callback(client, card_token(999))).status_code == 200
    await run_jobs()
    assert await scalar(db, "SELECT count(*) FROM payment_methods") == 0
    assert await scalar(db, "SELECT processed_at IS NULL FROM webhook_events") is True
    assert await scalar(db, "SELECT attempts FROM webhook_events") == 1


async def test_the_renewal_charges_the_saved_card_once_per_period(
    client: httpx.AsyncClient, owner_db: Database, db: Database, paymob: FakeApi
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await _end_period_at(owner_db, member.subscription_id, end)
    renewal_id = subscriptions.renewal_payment_id(uuid.UUID(member.subscription_id), end)

    await subscriptions.run_renewals(db, datetime.now(UTC))
    # Written and committed before Paymob is called (the charge is a job of its own).
    assert await scalar(db, "SELECT status FROM payments WHERE id = :id", id=renewal_id) == (
        "pending"
    )
    assert paymob.posts("/api/acceptance/payments/pay") == []
    await run_jobs()

    [order] = paymob.posts("/api/ecommerce/orders")
    assert order.params["merchant_order_id"] == str(renewal_id)
    assert (order.params["amount_cents"], order.params["currency"]) == (20000, "EGP")
    [key] = paymob.posts("/api/acceptance/payment_keys")
    assert key.params["integration_id"] == MOTO_INTEGRATION_ID
    assert key.params["order_id"] == paymob.orders[str(renewal_id)]["id"]
    assert key.params["lock_order_when_paid"] is True
    [issued] = paymob.payment_keys
    [pay] = paymob.posts("/api/acceptance/payments/pay")
    assert pay.params == {
        "source": {"identifier": CARD_TOKEN, "subtype": "TOKEN"},
        "payment_token": issued,
    }
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=member.caller.headers)
    ).json()
    assert current["status"] == "active"
    assert datetime.fromisoformat(current["current_period_start"]) == end
    assert datetime.fromisoformat(current["current_period_end"]) == end + relativedelta(months=1)
    assert await scalar(db, "SELECT status FROM payments WHERE id = :id", id=renewal_id) == (
        "succeeded"
    )
    assert await ledger_consistent(db, member.caller.id) == (60, 60)

    # Every way the same period could be charged again changes nothing.
    await subscriptions.run_renewals(db, datetime.now(UTC))
    await charge_saved_card(payment_id=str(renewal_id), payment_method_id=str(uuid.uuid4()))
    late = paymob.transactions[str(renewal_id)]
    assert (await callback(client, late)).json()["duplicate"] is True
    await run_jobs()
    assert len(paymob.posts("/api/acceptance/payments/pay")) == 1
    assert await ledger_consistent(db, member.caller.id) == (60, 60)
    assert await scalar(db, "SELECT count(*) FROM payments WHERE status = 'succeeded'") == 2


async def test_a_retried_charge_finds_the_earlier_transaction_instead_of_paying_again(
    client: httpx.AsyncClient, owner_db: Database, db: Database, paymob: FakeApi
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await _end_period_at(owner_db, member.subscription_id, end)
    renewal_id = str(subscriptions.renewal_payment_id(uuid.UUID(member.subscription_id), end))
    await subscriptions.run_renewals(db, datetime.now(UTC))
    # An earlier attempt paid, then crashed before recording Paymob's answer.
    paymob.transactions[renewal_id] = paymob_transaction(
        5005, 217700000, renewal_id, amount_cents=20000
    )
    await run_jobs()
    assert paymob.posts("/api/ecommerce/orders") == []
    assert paymob.posts("/api/acceptance/payments/pay") == []
    assert await scalar(db, "SELECT provider_payment_id FROM payments WHERE id = :id",
                        id=uuid.UUID(renewal_id)) == "5005"  # fmt: skip
    assert await ledger_consistent(db, member.caller.id) == (60, 60)


async def test_a_declined_renewal_is_past_due_then_unpaid_after_the_grace_period(
    client: httpx.AsyncClient, owner_db: Database, db: Database, paymob: FakeApi
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    paymob.declined_tokens.add(CARD_TOKEN)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await _end_period_at(owner_db, member.subscription_id, end)
    renewal_id = subscriptions.renewal_payment_id(uuid.UUID(member.subscription_id), end)
    await subscriptions.run_renewals(db, datetime.now(UTC))
    await run_jobs()

    assert await scalar(
        db, "SELECT status || ':' || failure_code FROM payments WHERE id = :id", id=renewal_id
    ) == ("failed:DECLINED")
    rights = await _entitlements(client, member.caller)
    assert (rights["status"], rights["entitled"]) == ("past_due", True)
    assert datetime.fromisoformat(rights["grace_until"]) == end + timedelta(days=3)
    assert await ledger_consistent(db, member.caller.id) == (30, 30)

    # Within the grace period nothing more is charged; after it the subscription lapses.
    assert (await subscriptions.run_renewals(db, end + timedelta(days=2)))["unpaid"] == 0
    lapsed = await subscriptions.run_renewals(db, end + timedelta(days=3, seconds=1))
    assert lapsed["unpaid"] == 1
    rights = await _entitlements(client, member.caller)
    assert (rights["status"], rights["entitled"]) == ("unpaid", False)
    assert len(paymob.posts("/api/acceptance/payments/pay")) == 1
    assert await ledger_consistent(db, member.caller.id) == (30, 30)


async def test_members_list_and_delete_their_own_cards_only(
    client: httpx.AsyncClient, owner_db: Database, db: Database, paymob: FakeApi
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    [card] = await cards(client, member.caller)
    stranger = await sign_up(client)
    assert await cards(client, stranger) == []
    refused = await client.delete(
        f"/api/v1/billing/payment-methods/{card['id']}", headers=stranger.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (404, "payment_method_not_found")
    assert len(await cards(client, member.caller)) == 1
    assert (
        await client.delete(f"/api/v1/billing/payment-methods/{uuid.uuid4()}",
                            headers=member.caller.headers)
    ).status_code == 404  # fmt: skip

    deleted = await client.delete(
        f"/api/v1/billing/payment-methods/{card['id']}", headers=member.caller.headers
    )
    assert deleted.status_code == 204
    assert await cards(client, member.caller) == []
    assert await scalar(db, "SELECT length(token_encrypted) FROM payment_methods") == 0
    again = await client.delete(
        f"/api/v1/billing/payment-methods/{card['id']}", headers=member.caller.headers
    )
    assert again.status_code == 404

    # With no card left the renewal is not charged: the member pays through checkout.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await _end_period_at(owner_db, member.subscription_id, end)
    assert (await subscriptions.run_renewals(db, datetime.now(UTC)))["past_due"] == 1
    await run_jobs()
    assert paymob.posts("/api/ecommerce/orders") == []


async def test_rotate_keys_reencrypts_saved_cards(
    client: httpx.AsyncClient,
    owner_db: Database,
    db: Database,
    paymob: FakeApi,
    settings: Settings,
    database_urls: DatabaseUrls,
) -> None:
    member = await subscribed_with_card(client, owner_db, db)
    [card] = await cards(client, member.caller)
    newer = f"k2:{new_key()}"
    rotated = settings.model_copy(update={"encryption_keys": SecretStr(f"{newer},{KEY_SPEC}")})
    assert await rotate_keys(rotated, database_urls) == 1
    assert await rotate_keys(rotated, database_urls) == 0
    async with owner_db.transaction() as session:
        row = (
            await session.execute(
                text("SELECT token_encrypted, encryption_key_id FROM payment_methods")
            )
        ).one()
    assert row.encryption_key_id == "k2"
    plain = KeyRing.parse(newer).decrypt(
        "k2", bytes(row.token_encrypted), uuid.UUID(card["id"]).bytes
    )
    assert plain == CARD_TOKEN
    assert (
        await scalar(
            db, "SELECT count(*) FROM audit_log WHERE action = 'payment_method.rotate_keys'"
        )
        == 1
    )
