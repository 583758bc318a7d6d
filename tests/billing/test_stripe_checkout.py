"""Stripe Checkout Sessions for one-off payments: the session is created with our ids, its URL goes
to the client, and its webhooks (signed with the SDK's helper) settle the payment once, in any
order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from studyhall.billing.config import billing_settings, configure_billing
from studyhall.billing.jobs import reconcile_pending
from studyhall.db.engine import Database
from tests.billing.conftest import create_pack, ledger_consistent, make_admin, scalar, sign_up
from tests.billing.fakes import FakeApi
from tests.billing.test_stripe import buy, deliver, event, succeeded
from tests.conftest import run_jobs

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

SUCCESS_URL = "https://app.example.org/billing/done?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://app.example.org/billing/canceled"


@pytest.fixture
def checkout(fake_stripe: FakeApi) -> FakeApi:
    configure_billing(
        billing_settings().model_copy(
            update={
                "stripe_checkout": "checkout_session",
                "stripe_success_url": SUCCESS_URL,
                "stripe_cancel_url": CANCEL_URL,
            }
        )
    )
    return fake_stripe


def session(
    session_id: str, payment_id: str, *, payment_status: str = "paid", status: str = "complete"
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": status,
        "payment_status": payment_status,
        "amount_total": 900,  # every pack sold here costs 900 USD
        "currency": "usd",
        "client_reference_id": payment_id,
        "payment_intent": f"pi_for_{session_id}",
        "metadata": {"studyhall_payment_id": payment_id},
    }


async def send(client: httpx.AsyncClient, event_type: str, obj: dict[str, Any]) -> None:
    response = await deliver(client, event(event_type, obj))
    assert response.status_code == 200, response.text


async def _payment(client: httpx.AsyncClient, student: Any, payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/billing/payments/{payment_id}", headers=student.headers)
    body: dict[str, Any] = response.json()
    return body


async def test_a_purchase_creates_a_checkout_session_and_answers_its_url(
    client: httpx.AsyncClient, owner_db: Database, db: Database, checkout: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    body = await buy(client, student, pack_id)
    payment_id = body["payment"]["id"]
    assert body["checkout_url"] == "https://checkout.stripe.test/c/pay/cs_test_0002"
    assert (body["client_secret"], body["payment_key"]) == (None, None)
    assert body["payment"]["provider_payment_id"] is None
    [call] = checkout.posts("/v1/checkout/sessions")
    assert call.idempotency_key == f"checkout-{payment_id}"
    assert call.params == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "900",
        "line_items[0][price_data][product_data][name]": "40 credits (40 pack)",
        "client_reference_id": payment_id,
        "metadata[studyhall_payment_id]": payment_id,
        "payment_intent_data[metadata][studyhall_payment_id]": payment_id,
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "customer": "cus_0001",
    }
    assert checkout.posts("/v1/payment_intents") == []
    stored = await scalar(db, "SELECT provider_checkout_id FROM payments")
    assert stored == "cs_test_0002"

    completed = event("checkout.session.completed", session("cs_test_0002", payment_id))
    assert (await deliver(client, completed)).json()["duplicate"] is False
    assert (await deliver(client, completed)).json()["duplicate"] is True
    # The session's PaymentIntent reports the same success: nothing more happens.
    await deliver(
        client, event("payment_intent.succeeded", succeeded("pi_for_cs_test_0002", payment_id, 900))
    )
    await run_jobs()
    row = await _payment(client, student, payment_id)
    assert (row["status"], row["provider_payment_id"]) == ("succeeded", "pi_for_cs_test_0002")
    assert await ledger_consistent(db, student.id) == (40, 40)
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'payment.succeed'") == 1
    # A stale failure afterwards changes nothing.
    stale = session("cs_test_0002", payment_id, status="expired", payment_status="unpaid")
    await send(client, "checkout.session.expired", stale)
    await run_jobs()
    assert (await _payment(client, student, payment_id))["status"] == "succeeded"
    assert await ledger_consistent(db, student.id) == (40, 40)


async def test_asynchronous_payments_settle_in_any_order(
    client: httpx.AsyncClient, owner_db: Database, db: Database, checkout: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    late_success = (await buy(client, student, pack_id))["payment"]["id"]
    declined = (await buy(client, student, pack_id))["payment"]["id"]

    # The async success overtakes "completed (unpaid)"; then the completed event arrives.
    settling_a = session("cs_a", late_success, payment_status="unpaid")
    await send(client, "checkout.session.async_payment_succeeded", session("cs_a", late_success))
    await send(client, "checkout.session.completed", settling_a)
    # Completed while the bank debit settles, which then fails.
    settling_b = session("cs_b", declined, payment_status="unpaid")
    await send(client, "checkout.session.completed", settling_b)
    await run_jobs()
    assert (await _payment(client, student, declined))["status"] == "pending"
    await send(client, "checkout.session.async_payment_failed", settling_b)
    await run_jobs()

    assert (await _payment(client, student, late_success))["status"] == "succeeded"
    failed = await _payment(client, student, declined)
    assert (failed["status"], failed["failure_code"]) == ("failed", "async_payment_failed")
    assert await ledger_consistent(db, student.id) == (40, 40)


async def test_an_expired_session_fails_its_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database, checkout: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    payment_id = (await buy(client, student, pack_id))["payment"]["id"]
    expired = session("cs_x", payment_id, status="expired", payment_status="unpaid")
    await deliver(client, event("checkout.session.expired", expired))
    await run_jobs()
    row = await _payment(client, student, payment_id)
    assert (row["status"], row["failure_code"]) == ("failed", "checkout_expired")
    assert await ledger_consistent(db, student.id) == (0, 0)


async def test_reconciliation_reads_the_session_when_its_webhook_was_lost(
    client: httpx.AsyncClient, owner_db: Database, db: Database, checkout: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    paid = (await buy(client, student, pack_id))["payment"]["id"]
    abandoned = (await buy(client, student, pack_id))["payment"]["id"]
    open_ = (await buy(client, student, pack_id))["payment"]["id"]
    checkout.objects["cs_test_0002"].update(
        status="complete", payment_status="paid", payment_intent="pi_paid"
    )
    checkout.objects["cs_test_0003"].update(status="expired")
    async with owner_db.transaction() as tx:
        await tx.execute(text("UPDATE payments SET created_at = now() - interval '1 hour'"))
    assert await reconcile_pending() == 2
    assert (await _payment(client, student, paid))["provider_payment_id"] == "pi_paid"
    statuses = {
        pid: (await _payment(client, student, pid))["status"] for pid in (paid, abandoned, open_)
    }
    assert statuses == {paid: "succeeded", abandoned: "failed", open_: "pending"}
    assert await ledger_consistent(db, student.id) == (40, 40)


async def test_checkout_without_return_urls_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, owner_db: Database, db: Database, checkout: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    configure_billing(billing_settings().model_copy(update={"stripe_cancel_url": None}))
    response = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert (response.status_code, response.json()["code"]) == (422, "provider_not_configured")
    assert response.headers["content-type"] == "application/problem+json"
    assert await scalar(db, "SELECT count(*) FROM payments") == 0
    assert checkout.posts("/v1/checkout/sessions") == []
