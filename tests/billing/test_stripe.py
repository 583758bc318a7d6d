"""Stripe: outbound calls against a local stand-in for api.stripe.com, webhooks signed with the
SDK's own signing helper, applied once whatever the order and number of deliveries."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import text

from studyhall.billing.config import BillingSettings
from studyhall.billing.jobs import reconcile_pending
from studyhall.db.engine import Database
from tests.billing.conftest import (
    OLD_SECRET,
    SECRET,
    Caller,
    create_pack,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
)
from tests.billing.fakes import FakeApi
from tests.conftest import run_jobs

WEBHOOK = "/api/v1/billing/webhooks/stripe"
# The stripe SDK's own httpx client posts bytes the way httpx now warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": event_type,
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj},
        }
    )


async def deliver(
    client: httpx.AsyncClient, payload: str, secret: str = SECRET, timestamp: int | None = None
) -> httpx.Response:
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return await client.post(
        WEBHOOK,
        content=payload,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def succeeded(
    intent_id: str, payment_id: str, amount: int = 1000, currency: str = "usd"
) -> dict[str, Any]:
    """A succeeded PaymentIntent; the amount defaults to ``create_pack``'s price."""
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": "succeeded",
        "amount": amount,
        "amount_received": amount,
        "currency": currency,
        "metadata": {"studyhall_payment_id": payment_id},
    }


def refunded(intent_id: str, total: int) -> dict[str, Any]:
    return {
        "id": f"ch_{intent_id}",
        "object": "charge",
        "payment_intent": intent_id,
        "amount_refunded": total,
        "metadata": {},
    }


def failed(intent_id: str, payment_id: str) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": "requires_payment_method",
        "metadata": {"studyhall_payment_id": payment_id},
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }


async def buy(client: httpx.AsyncClient, student: Caller, pack_id: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_stripe_purchase_creates_customer_and_intent_with_our_ids_as_keys(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=50, price_cents=1999, currency="EUR")
    student = await sign_up(client)
    first = await buy(client, student, pack_id)
    second = await buy(client, student, pack_id)
    payment = first["payment"]
    assert (payment["status"], payment["provider"]) == ("pending", "stripe")
    assert payment["provider_payment_id"] == "pi_0002"
    assert first["client_secret"] == "pi_0002_secret_test"

    customers = fake_stripe.posts("/v1/customers")
    assert [c.idempotency_key for c in customers] == [f"customer-{student.id}"]
    intents = fake_stripe.posts("/v1/payment_intents")
    assert [c.idempotency_key for c in intents] == [
        f"payment-{payment['id']}",
        f"payment-{second['payment']['id']}",
    ]
    assert intents[0].params["amount"] == "1999"
    assert intents[0].params["currency"] == "eur"
    assert intents[0].params["customer"] == "cus_0001"
    assert intents[0].params["metadata[studyhall_payment_id]"] == payment["id"]
    assert intents[0].authorization == "Bearer sk_test_local"
    assert await scalar(db, "SELECT count(*) FROM payment_customers") == 1
    assert await ledger_consistent(db, student.id) == (0, 0)

    ack = await deliver(
        client,
        event("payment_intent.succeeded", succeeded("pi_0002", payment["id"], 1999, "eur")),
    )
    assert ack.status_code == 200
    assert ack.json()["duplicate"] is False
    await run_jobs()
    settled = await client.get(f"/api/v1/billing/payments/{payment['id']}", headers=student.headers)
    assert settled.json()["status"] == "succeeded"
    assert await ledger_consistent(db, student.id) == (50, 50)


async def test_bad_or_stale_signatures_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, db: Database, fake_stripe: FakeApi
) -> None:
    payload = event("payment_intent.succeeded", succeeded("pi_x", str(uuid.uuid4())))
    wrong = await deliver(client, payload, secret="whsec_attacker")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_signature")
    stale = await deliver(client, payload, timestamp=int(time.time()) - 301)
    assert (stale.status_code, stale.json()["code"]) == (400, "invalid_signature")
    unsigned = await client.post(WEBHOOK, content=payload)
    assert (unsigned.status_code, unsigned.json()["code"]) == (400, "invalid_signature")
    tampered_header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    tampered = await client.post(
        WEBHOOK,
        content=payload.replace("pi_x", "pi_y"),
        headers={"Stripe-Signature": tampered_header},
    )
    assert tampered.status_code == 400
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 0
    assert await scalar(db, "SELECT count(*) FROM procrastinate_jobs") == 0

    rotated = await deliver(client, payload, secret=OLD_SECRET)
    assert rotated.status_code == 200
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1


async def test_unknown_event_types_are_stored_and_acknowledged_without_effect(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin)
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    obj = succeeded(payment["provider_payment_id"], payment["id"])
    ack = await deliver(client, event("payment_intent.amount_capturable_updated", obj, "evt_odd"))
    assert ack.json() == {"received": True, "duplicate": False, "event_id": "evt_odd"}
    await run_jobs()
    assert (
        await scalar(
            db, "SELECT processed_at IS NOT NULL FROM webhook_events WHERE event_id = 'evt_odd'"
        )
        is True
    )
    assert await scalar(db, "SELECT status FROM payments") == "pending"
    assert await ledger_consistent(db, student.id) == (0, 0)


async def test_the_same_event_five_times_has_one_effect(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=10)
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    payload = event(
        "payment_intent.succeeded", succeeded(payment["provider_payment_id"], payment["id"])
    )
    acks = []
    for _ in range(5):
        acks.append((await deliver(client, payload)).json()["duplicate"])
        await run_jobs()
    assert acks == [False, True, True, True, True]
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1
    assert await ledger_consistent(db, student.id) == (10, 10)


async def test_success_refund_and_a_stale_failure_in_every_order_have_one_effect(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=1000)
    student = await sign_up(client)
    orders = sorted(set(itertools.permutations("SSRRF")))
    assert len(orders) == 30
    for order in orders:
        payment = (await buy(client, student, pack_id))["payment"]
        intent, pid = payment["provider_payment_id"], payment["id"]
        payloads = {
            "S": event("payment_intent.succeeded", succeeded(intent, pid)),
            "R": event("charge.refunded", refunded(intent, 300)),
            "F": event("payment_intent.payment_failed", failed(intent, pid)),
        }
        for letter in order:
            assert (await deliver(client, payloads[letter])).status_code == 200
            await run_jobs()
        row = (await client.get(f"/api/v1/billing/payments/{pid}", headers=student.headers)).json()
        assert (row["status"], row["amount_refunded_cents"]) == ("succeeded", 300), order
        deltas = await scalar(
            db,
            "SELECT string_agg(delta::text, ',' ORDER BY seq) FROM credit_ledger "
            "WHERE payment_id = :p",
            p=uuid.UUID(pid),
        )
        assert deltas == "100,-30", order
        refunds = await scalar(
            db,
            "SELECT string_agg(reason || ':' || amount_cents || ':' || status, ',') "
            "FROM refunds WHERE payment_id = :p",
            p=uuid.UUID(pid),
        )
        assert refunds == "provider:300:succeeded", order
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 90
    assert await scalar(db, "SELECT count(*) FROM webhook_events WHERE processed_at IS NULL") == 0
    assert await ledger_consistent(db, student.id) == (30 * 70, 30 * 70)


async def test_an_admin_refund_goes_to_stripe_from_a_job_with_the_refund_id_as_key(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=1000)
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    intent = payment["provider_payment_id"]
    await deliver(client, event("payment_intent.succeeded", succeeded(intent, payment["id"])))
    await run_jobs()
    response = await client.post(
        f"/api/v1/billing/admin/payments/{payment['id']}/refunds",
        json={"amount_cents": 400},
        headers=admin.with_key(),
    )
    refund = response.json()
    assert (response.status_code, refund["status"]) == (201, "pending")
    assert fake_stripe.posts("/v1/refunds") == []
    await run_jobs()
    calls = fake_stripe.posts("/v1/refunds")
    assert [(c.idempotency_key, c.params["amount"], c.params["payment_intent"]) for c in calls] == [
        (f"refund-{refund['id']}", "400", intent)
    ]
    listed = await client.get(
        f"/api/v1/billing/admin/payments/{payment['id']}/refunds", headers=admin.headers
    )
    assert [(r["status"], r["provider_refund_id"]) for r in listed.json()["items"]] == [
        ("succeeded", "re_0003")
    ]
    await deliver(client, event("charge.refunded", refunded(intent, 400)))
    await run_jobs()
    row = (
        await client.get(f"/api/v1/billing/payments/{payment['id']}", headers=student.headers)
    ).json()
    assert row["amount_refunded_cents"] == 400
    assert await scalar(db, "SELECT count(*) FROM refunds") == 1
    assert await ledger_consistent(db, student.id) == (60, 60)


async def test_reconciliation_settles_payments_whose_webhook_was_lost(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=25)
    student = await sign_up(client)
    paid = (await buy(client, student, pack_id))["payment"]
    declined = (await buy(client, student, pack_id))["payment"]
    fresh = (await buy(client, student, pack_id))["payment"]
    fake_stripe.objects[paid["provider_payment_id"]]["status"] = "succeeded"
    fake_stripe.objects[declined["provider_payment_id"]]["last_payment_error"] = {
        "code": "card_declined",
        "message": "declined",
    }
    fake_stripe.objects[fresh["provider_payment_id"]]["status"] = "succeeded"
    async with owner_db.transaction() as session:
        await session.execute(
            text("UPDATE payments SET created_at = now() - interval '1 hour' WHERE id = ANY(:ids)"),
            {"ids": [uuid.UUID(paid["id"]), uuid.UUID(declined["id"])]},
        )
    assert await reconcile_pending() == 2
    statuses = await scalar(db, "SELECT string_agg(id::text || '=' || status, ',') FROM payments")
    assert set(str(statuses).split(",")) == {
        f"{paid['id']}=succeeded",
        f"{declined['id']}=failed",
        f"{fresh['id']}=pending",
    }
    assert await ledger_consistent(db, student.id) == (25, 25)
    assert await reconcile_pending() == 0


def test_settings_accept_several_webhook_secrets() -> None:
    settings = BillingSettings(
        _env_file=None,  # type: ignore[call-arg]
        stripe_webhook_secrets=["whsec_a", "whsec_b"],  # type: ignore[list-item]
    )
    assert [s.get_secret_value() for s in settings.stripe_webhook_secrets] == ["whsec_a", "whsec_b"]


async def test_a_reconciliation_job_is_scheduled_with_each_remote_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=12)
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    delay = await scalar(
        db,
        "SELECT round(extract(epoch FROM scheduled_at - now()) / 60) FROM procrastinate_jobs "
        "WHERE task_name = 'studyhall.billing.reconcile_payment'",
    )
    assert delay == 15
    await run_jobs()
    assert await scalar(db, "SELECT status FROM payments") == "pending"

    fake_stripe.objects[payment["provider_payment_id"]]["status"] = "succeeded"
    async with owner_db.transaction() as session:
        await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))
    await run_jobs()
    assert await scalar(db, "SELECT status FROM payments") == "succeeded"
    assert await ledger_consistent(db, student.id) == (12, 12)
    assert [c.path for c in fake_stripe.calls if c.method == "GET"] == [
        f"/v1/payment_intents/{payment['provider_payment_id']}"
    ]


async def test_a_refund_stripe_refuses_is_failed_and_frees_the_amount(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=10, price_cents=1000)
    student = await sign_up(client)
    payment = (await buy(client, student, pack_id))["payment"]
    intent = payment["provider_payment_id"]
    await deliver(client, event("payment_intent.succeeded", succeeded(intent, payment["id"])))
    await run_jobs()
    del fake_stripe.objects[intent]
    url = f"/api/v1/billing/admin/payments/{payment['id']}/refunds"
    assert (await client.post(url, json={}, headers=admin.with_key())).status_code == 201
    blocked = await client.post(url, json={}, headers=admin.with_key())
    assert (blocked.status_code, blocked.json()["code"]) == (422, "invalid_amount")
    await run_jobs()
    listed = (await client.get(url, headers=admin.headers)).json()["items"]
    assert [(r["status"], r["amount_cents"]) for r in listed] == [("failed", 1000)]
    row = (
        await client.get(f"/api/v1/billing/payments/{payment['id']}", headers=admin.headers)
    ).json()
    assert (row["status"], row["amount_refunded_cents"]) == ("succeeded", 0)
    assert await ledger_consistent(db, student.id) == (10, 10)
    assert (await client.post(url, json={}, headers=admin.with_key())).status_code == 201
