"""Billing tells other domains what happened to money through ``kit.events``: a subscriber sees
``PaymentSucceeded`` once per payment and ``PaymentRefunded`` once per refund, in the transaction
that settled it, however often the provider delivers the news."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.billing.events import PaymentRefunded, PaymentSucceeded
from studyhall.db.engine import Database
from studyhall.kit.events import subscribe
from tests.billing.conftest import create_pack, make_admin, sign_up
from tests.billing.fakes import FakeApi
from tests.billing.test_stripe import buy, deliver, event, refunded, succeeded
from tests.conftest import run_jobs

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

seen: list[object] = []


async def _record(session: AsyncSession, fact: object) -> None:
    # Inside the emitting transaction: the payment row it names is visible to it.
    assert session.in_transaction()
    seen.append(fact)


subscribe(PaymentSucceeded, _record)
subscribe(PaymentRefunded, _record)


@pytest.fixture(autouse=True)
def recorded() -> Iterator[list[object]]:
    seen.clear()
    yield seen
    seen.clear()


async def test_a_replayed_webhook_tells_a_subscriber_of_each_fact_once(
    client: httpx.AsyncClient, owner_db: Database, fake_stripe: FakeApi, recorded: list[object]
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=50, price_cents=1000, currency="USD")
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    intent = payment["provider_payment_id"]

    paid = event("payment_intent.succeeded", succeeded(intent, payment["id"]))
    for _ in range(3):
        assert (await deliver(client, paid)).status_code == 200
    # The same success under another event id (a second delivery path) changes nothing more.
    again = event("payment_intent.succeeded", succeeded(intent, payment["id"]))
    assert (await deliver(client, again)).status_code == 200
    await run_jobs()
    assert recorded == [
        PaymentSucceeded(
            payment_id=uuid.UUID(payment["id"]),
            user_id=student.id,
            purpose="credit_pack",
            amount_cents=1000,
            currency="USD",
            provider="stripe",
        )
    ]

    recorded.clear()
    partial = event("charge.refunded", refunded(intent, 400))
    for _ in range(2):
        assert (await deliver(client, partial)).status_code == 200
    await run_jobs()
    full = event("charge.refunded", refunded(intent, 1000))
    assert (await deliver(client, full)).status_code == 200
    assert (await deliver(client, full)).status_code == 200
    await run_jobs()
    assert recorded == [
        PaymentRefunded(
            payment_id=uuid.UUID(payment["id"]),
            user_id=student.id,
            purpose="credit_pack",
            refunded_cents=400,
            total_refunded_cents=400,
            currency="USD",
        ),
        PaymentRefunded(
            payment_id=uuid.UUID(payment["id"]),
            user_id=student.id,
            purpose="credit_pack",
            refunded_cents=600,
            total_refunded_cents=1000,
            currency="USD",
        ),
    ]


async def test_a_replayed_purchase_and_refund_are_told_once(
    client: httpx.AsyncClient, owner_db: Database, recorded: list[object]
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=20, price_cents=500, currency="USD")
    student = await sign_up(client)
    url = f"/api/v1/billing/credit-packs/{pack_id}/purchase"
    key = student.with_key()
    bought = [await client.post(url, headers=key) for _ in range(2)]
    assert [answer.status_code for answer in bought] == [201, 201], bought[0].text
    payment = bought[0].json()["payment"]
    assert payment["status"] == "succeeded"  # the manual provider of the tests answers at once
    refund = f"/api/v1/billing/admin/payments/{payment['id']}/refunds"
    refund_key = admin.with_key()
    for _ in range(2):
        answered = await client.post(refund, headers=refund_key)
        assert answered.status_code == 201, answered.text
    assert recorded == [
        PaymentSucceeded(
            payment_id=uuid.UUID(payment["id"]),
            user_id=student.id,
            purpose="credit_pack",
            amount_cents=500,
            currency="USD",
            provider="manual",
        ),
        PaymentRefunded(
            payment_id=uuid.UUID(payment["id"]),
            user_id=student.id,
            purpose="credit_pack",
            refunded_cents=500,
            total_refunded_cents=500,
            currency="USD",
        ),
    ]
