"""Stripe subscriptions: created through the API stand-in, mirrored from webhooks by re-fetching,
paid invoices recorded once with their period's credits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from studyhall.db.engine import Database
from tests.billing.conftest import ledger_consistent, make_admin, scalar, sign_up
from tests.billing.fakes import PERIOD_END, PERIOD_START, FakeApi
from tests.billing.test_stripe import deliver, event
from tests.conftest import run_jobs

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def invoice(sub_id: str, invoice_id: str, amount: int = 1200) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_paid": amount,
        "currency": "usd",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id},
        },
        "lines": {"data": [{"period": {"start": PERIOD_START, "end": PERIOD_END}}]},
    }


async def test_a_stripe_subscription_is_mirrored_and_its_invoices_grant_credits_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_stripe: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    plan = await client.post(
        "/api/v1/billing/admin/plans",
        json={"key": "pro", "name": "Pro", "billing_cycle": "monthly", "price_cents": 1200,
              "currency": "USD", "credits_per_period": 30,
              "provider_plan_ids": {"stripe": "price_pro"}},
        headers=admin.headers,
    )  # fmt: skip
    student = await sign_up(client)
    response = await client.post(
        "/api/v1/billing/subscriptions",
        json={"plan_id": plan.json()["id"], "provider": "stripe"},
        headers=student.with_key(),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    sub = body["subscription"]
    assert body["client_secret"] == "sub_0002_invoice_secret"
    assert (sub["status"], sub["provider"], body["payment"]) == ("unpaid", "stripe", None)
    [call] = fake_stripe.posts("/v1/subscriptions")
    assert call.idempotency_key == f"subscription-{sub['id']}"
    assert (call.params["customer"], call.params["items[0][price]"]) == ("cus_0001", "price_pro")
    assert call.params["payment_behavior"] == "default_incomplete"
    assert call.params["expand[0]"] == "latest_invoice.confirmation_secret"
    rights = (await client.get("/api/v1/billing/entitlements", headers=student.headers)).json()
    assert rights["entitled"] is False

    # The event's snapshot says past_due, but Stripe's current state (re-fetched) is active.
    fake_stripe.objects["sub_0002"]["status"] = "active"
    stale = {"id": "sub_0002", "object": "subscription", "status": "past_due"}
    await deliver(client, event("customer.subscription.updated", stale))
    for event_id in ("evt_paid_1", "evt_paid_2"):
        await deliver(client, event("invoice.paid", invoice("sub_0002", "in_0004"), event_id))
    await deliver(client, event("customer.subscription.created", dict(stale, status="incomplete")))
    await run_jobs()
    assert [c.path for c in fake_stripe.calls if c.method == "GET"] == [
        "/v1/subscriptions/sub_0002",
        "/v1/subscriptions/sub_0002",
    ]
    current = (
        await client.get("/api/v1/billing/subscriptions/current", headers=student.headers)
    ).json()
    assert current["status"] == "active"
    assert datetime.fromisoformat(current["current_period_start"]) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert datetime.fromisoformat(current["current_period_end"]) == datetime(2027, 2, 1, tzinfo=UTC)
    payments = (await client.get("/api/v1/billing/payments", headers=student.headers)).json()[
        "items"
    ]
    assert [(p["provider_payment_id"], p["status"], p["amount_cents"]) for p in payments] == [
        ("in_0004", "succeeded", 1200)
    ]
    assert await ledger_consistent(db, student.id) == (30, 30)
    rights = (await client.get("/api/v1/billing/entitlements", headers=student.headers)).json()
    assert (rights["entitled"], rights["plan_key"]) == (True, "pro")

    later = await client.post(
        "/api/v1/billing/subscriptions/current/cancel", json={}, headers=student.headers
    )
    assert (later.json()["status"], later.json()["cancel_at_period_end"]) == ("active", True)
    assert fake_stripe.posts("/v1/subscriptions/sub_0002")[0].params == {
        "cancel_at_period_end": "true"
    }
    now = await client.post(
        "/api/v1/billing/subscriptions/current/cancel",
        json={"at_period_end": False},
        headers=student.headers,
    )
    assert now.json()["status"] == "canceled"
    assert [c.path for c in fake_stripe.calls if c.method == "DELETE"] == [
        "/v1/subscriptions/sub_0002"
    ]


async def test_an_event_for_an_unknown_subscription_waits_for_a_retry(
    client: httpx.AsyncClient, db: Database, fake_stripe: FakeApi
) -> None:
    await deliver(client, event("invoice.paid", invoice("sub_unknown", "in_x"), "evt_early"))
    await run_jobs()
    row = await scalar(
        db,
        "SELECT processed_at IS NULL AND attempts = 1 AND last_error IS NOT NULL "
        "FROM webhook_events WHERE event_id = 'evt_early'",
    )
    assert row is True
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE status = 'todo' AND scheduled_at > now()",
        )
        == 1
    )
    assert await scalar(db, "SELECT count(*) FROM payments") == 0
