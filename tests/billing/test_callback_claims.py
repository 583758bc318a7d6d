"""Callbacks prove what they claim: a verified callback pays only the payment its signed fields
name, only for that payment's amount and currency; anything else is kept as a rejected event,
changes nothing, and admins see it. Stripe bodies that are not event objects, and signatures
dated in the future, are refused."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import stripe
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from studyhall.app import create_app
from studyhall.billing.jobs import reconcile_pending
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.billing.conftest import (
    SECRET,
    Caller,
    create_pack,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
)
from tests.billing.fakes import FakeApi
from tests.billing.test_paymob import CALLBACK, order_of, signature, transaction
from tests.billing.test_stripe import WEBHOOK, buy, deliver, event, succeeded
from tests.billing.test_stripe_subscriptions import invoice
from tests.conftest import run_jobs
from tests.notifications.servers import free_port

API = "/api/v1"
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn server on a local port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to wait on
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _events_stored(db: Database, count: int) -> None:
    """Wait until ``count`` webhook events are committed (the acknowledgement may come first)."""
    for _ in range(250):
        if await scalar(db, "SELECT count(*) FROM webhook_events") == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} stored webhook events")


async def _status(db: Database, payment_id: str) -> str:
    found = await scalar(db, "SELECT status FROM payments WHERE id = :id", id=uuid.UUID(payment_id))
    return str(found)


async def _rejected(client: httpx.AsyncClient, admin: Caller) -> list[dict[str, Any]]:
    response = await client.get(
        f"{API}/billing/admin/webhook-events", params={"state": "rejected"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["items"]
    return listed


async def _paymob_purchase(
    client: httpx.AsyncClient, db: Database, admin: Caller, pack_id: str
) -> tuple[Caller, str, int]:
    student = await sign_up(client)
    bought = await client.post(
        f"{API}/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert bought.status_code == 201, bought.text
    assert bought.json()["payment"]["provider"] == "paymob"
    payment_id = str(bought.json()["payment"]["id"])
    return student, payment_id, await order_of(db, payment_id)


async def test_an_edited_merchant_reference_pays_neither_payment_over_a_real_server(
    settings: Settings, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    app = create_app(settings, db)
    async with serving(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=20) as http:
        admin = await make_admin(http, owner_db)
        pack_id = await create_pack(http, admin, credits=150, price_cents=15000, currency="EGP")
        alice, payment_a, order_a = await _paymob_purchase(http, db, admin, pack_id)
        bob, payment_b, _order_b = await _paymob_purchase(http, db, admin, pack_id)

        # Alice's genuine, correctly signed transaction, with the unsigned merchant reference
        # edited to Bob's payment: the HMAC still matches (it does not cover that field).
        genuine = transaction(payment_a, order_a, amount_cents=15000)
        edited = json.loads(json.dumps(genuine))
        edited["order"]["merchant_order_id"] = payment_b
        assert signature(edited) == signature(genuine)
        answer = await http.post(
            CALLBACK,
            params={"hmac": signature(edited)},
            content=json.dumps({"type": "TRANSACTION", "obj": edited}),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["rejected"] is True
        await _events_stored(db, 1)
        await run_jobs()
        statuses = (await _status(db, payment_a), await _status(db, payment_b))
        assert statuses == ("pending", "pending")
        assert await ledger_consistent(db, alice.id) == (0, 0)
        assert await ledger_consistent(db, bob.id) == (0, 0)

        # The genuine callback (same transaction id) is not taken for a redelivery: it pays A.
        real = await http.post(
            CALLBACK,
            params={"hmac": signature(genuine)},
            content=json.dumps({"type": "TRANSACTION", "obj": genuine}),
        )
        assert real.json() == {"received": True, "duplicate": False, "event_id": "192036465"}
        await _events_stored(db, 2)
        await run_jobs()
        assert (await _status(db, payment_a), await _status(db, payment_b)) == (
            "succeeded",
            "pending",
        )
        assert await ledger_consistent(db, alice.id) == (150, 150)
        assert await ledger_consistent(db, bob.id) == (0, 0)

        [kept] = await _rejected(http, admin)
        assert kept["provider"] == "paymob"
        assert "merchant reference" in kept["rejected_reason"]
        assert kept["payload"]["obj"]["order"]["merchant_order_id"] == payment_b
        denied = await http.get(f"{API}/billing/admin/webhook-events", headers=alice.headers)
        assert denied.status_code == 403


async def test_a_paymob_success_for_another_amount_or_currency_pays_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=150, price_cents=15000, currency="EGP")
    student, payment_id, order_id = await _paymob_purchase(client, db, admin, pack_id)

    for wrong in ({"amount_cents": 1}, {"currency": "USD", "amount_cents": 15000}):
        obj = transaction(payment_id, order_id, **wrong)
        response = await client.post(
            CALLBACK,
            params={"hmac": signature(obj)},
            content=json.dumps({"type": "TRANSACTION", "obj": obj}),
        )
        assert (response.status_code, response.json()["rejected"]) == (200, True)
    await run_jobs()
    assert await _status(db, payment_id) == "pending"
    assert await ledger_consistent(db, student.id) == (0, 0)
    reasons = [row["rejected_reason"] for row in await _rejected(client, admin)]
    assert sorted(reasons) == sorted(
        [
            f"paid 1 EGP, but payment {payment_id} is 15000 EGP",
            f"paid 15000 USD, but payment {payment_id} is 15000 EGP",
        ]
    )

    genuine = transaction(payment_id, order_id, amount_cents=15000)
    response = await client.post(
        CALLBACK,
        params={"hmac": signature(genuine)},
        content=json.dumps({"type": "TRANSACTION", "obj": genuine}),
    )
    assert response.json()["duplicate"] is False
    await run_jobs()
    assert await _status(db, payment_id) == "succeeded"
    assert await ledger_consistent(db, student.id) == (150, 150)


async def test_a_mismatch_found_when_applied_frees_the_event_id_for_the_genuine_callback(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    """A callback for an order not yet recorded is stored unchecked; applying it finds the
    mismatch, keeps it as rejected, and the genuine delivery after it is still applied."""
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=150, price_cents=15000, currency="EGP")
    student, payment_id, order_id = await _paymob_purchase(client, db, admin, pack_id)
    async with owner_db.transaction() as session:
        await session.execute(text("UPDATE payments SET provider_checkout_id = NULL"))
    cheap = transaction(payment_id, order_id, amount_cents=1)
    first = await client.post(
        CALLBACK,
        params={"hmac": signature(cheap)},
        content=json.dumps({"type": "TRANSACTION", "obj": cheap}),
    )
    assert "rejected" not in first.json()  # nothing to compare with yet
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE payments SET provider_checkout_id = :o"), {"o": str(order_id)}
        )
    await run_jobs()
    assert await _status(db, payment_id) == "pending"
    [kept] = await _rejected(client, admin)
    assert kept["event_id"].startswith("192036465:rejected:")

    genuine = transaction(payment_id, order_id, amount_cents=15000)
    second = await client.post(
        CALLBACK,
        params={"hmac": signature(genuine)},
        content=json.dumps({"type": "TRANSACTION", "obj": genuine}),
    )
    assert second.json()["duplicate"] is False
    await run_jobs()
    assert await _status(db, payment_id) == "succeeded"
    assert await ledger_consistent(db, student.id) == (150, 150)


async def test_a_stripe_success_for_another_amount_or_currency_pays_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=15000, currency="USD")
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    intent = payment["provider_payment_id"]
    for amount, currency in ((1, "usd"), (15000, "eur")):
        claimed = succeeded(intent, payment["id"], amount, currency)
        wrong = event("payment_intent.succeeded", claimed)
        assert (await deliver(client, wrong)).json()["rejected"] is True
    await run_jobs()
    assert await _status(db, payment["id"]) == "pending"
    assert await ledger_consistent(db, student.id) == (0, 0)
    assert len(await _rejected(client, admin)) == 2

    right = event("payment_intent.succeeded", succeeded(intent, payment["id"], 15000, "usd"))
    assert "rejected" not in (await deliver(client, right)).json()
    await run_jobs()
    assert await _status(db, payment["id"]) == "succeeded"
    assert await ledger_consistent(db, student.id) == (100, 100)


async def test_a_stripe_invoice_for_another_price_grants_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    plan = await client.post(
        f"{API}/billing/admin/plans",
        json={"key": "pro", "name": "Pro", "billing_cycle": "monthly", "price_cents": 1200,
              "currency": "USD", "credits_per_period": 30,
              "provider_plan_ids": {"stripe": "price_pro"}},
        headers=admin.headers,
    )  # fmt: skip
    student = await sign_up(client)
    started = await client.post(
        f"{API}/billing/subscriptions",
        json={"plan_id": plan.json()["id"], "provider": "stripe"},
        headers=student.with_key(),
    )
    assert started.status_code == 201, started.text
    await deliver(client, event("invoice.paid", invoice("sub_0002", "in_cheap", amount=1)))
    await run_jobs()
    assert await ledger_consistent(db, student.id) == (0, 0)
    assert await scalar(db, "SELECT count(*) FROM payments") == 0
    [kept] = await _rejected(client, admin)
    assert kept["rejected_reason"].startswith("invoice in_cheap paid 1 USD")

    await deliver(client, event("invoice.paid", invoice("sub_0002", "in_full")))
    await run_jobs()
    assert await ledger_consistent(db, student.id) == (30, 30)


@pytest.mark.parametrize("body", ["{}", "[]", '"an event"', '{"id": "evt_1", "type": "x"}'])
async def test_a_signed_body_that_is_not_an_event_is_a_400(
    client: httpx.AsyncClient, db: Database, fake_stripe: FakeApi, body: str
) -> None:
    response = await deliver(client, body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_payload"
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 0


async def test_a_signature_dated_beyond_the_tolerance_is_refused_either_way(
    client: httpx.AsyncClient, db: Database, fake_stripe: FakeApi
) -> None:
    payload = event("payment_intent.created", {"id": "pi_1", "object": "payment_intent"})
    now = int(time.time())
    for moment in (now + 301 + 60, now - 301 - 60):
        late_or_early = await deliver(client, payload, timestamp=moment)
        assert late_or_early.status_code == 400, moment
        assert late_or_early.json()["code"] == "invalid_signature"
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 0
    # Within the tolerance either way (clocks are never quite equal), it is accepted.
    assert (await deliver(client, payload, timestamp=now + 30)).status_code == 200
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET, now + 10_000)
    far = await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": header})
    assert far.status_code == 400


async def test_reconciliation_does_not_count_a_stripe_answer_for_another_amount(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=15000, currency="USD")
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    intent = fake_stripe.objects[payment["provider_payment_id"]]
    intent.update(status="succeeded", amount=1, amount_received=1)
    async with owner_db.transaction() as session:
        await session.execute(text("UPDATE payments SET created_at = now() - interval '1 hour'"))
    for _ in range(2):  # asked again later, kept once
        assert await reconcile_pending() == 0
    assert await _status(db, payment["id"]) == "pending"
    assert await ledger_consistent(db, student.id) == (0, 0)
    [kept] = await _rejected(client, admin)
    assert kept["rejected_reason"] == f"paid 1 USD, but payment {payment['id']} is 15000 USD"

    intent.update(amount=15000, amount_received=15000)
    assert await reconcile_pending() == 1
    assert await _status(db, payment["id"]) == "succeeded"
    assert await ledger_consistent(db, student.id) == (100, 100)
