"""Edges of the HTTP surface: unknown providers, oversized bodies, concurrent redeliveries."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import stripe

from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from studyhall.jobs import queue
from tests.billing.conftest import SECRET, scalar
from tests.billing.fakes import FakeApi
from tests.billing.test_stripe import WEBHOOK, event


async def test_unknown_providers_and_oversized_bodies_are_refused(
    client: httpx.AsyncClient, db: Database
) -> None:
    unknown = await client.post("/api/v1/billing/webhooks/paypal", content=b"{}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_provider")
    manual = await client.post("/api/v1/billing/webhooks/manual", content=b"{}")
    assert (manual.status_code, manual.json()["code"]) == (404, "unknown_provider")
    huge = await client.post(WEBHOOK, content=b"x" * (512 * 1024 + 1))
    assert (huge.status_code, huge.json()["code"]) == (413, "webhook_too_large")
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 0


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
async def test_concurrent_redeliveries_store_one_event_and_one_job(
    client: httpx.AsyncClient, db: Database, fake_stripe: FakeApi
) -> None:
    payload = event("payment_intent.created", {"id": "pi_1", "object": "payment_intent"}, "evt_c")
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    responses = await asyncio.gather(
        *(
            client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": header})
            for _ in range(8)
        )
    )
    assert [r.status_code for r in responses] == [200] * 8
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 7
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1
    assert await scalar(db, "SELECT count(*) FROM procrastinate_jobs") == 1


async def test_the_openapi_document_lists_the_billing_routes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    billing = sorted(path for path in document["paths"] if path.startswith("/api/v1/billing"))
    assert len(billing) == 35
    # The admin's listings of payments, payout statements and plans (the web app's admin pages).
    for listing in ("payments", "payouts/statements", "plans"):
        assert f"/api/v1/billing/admin/{listing}" in billing
    assert "/api/v1/billing/admin/webhook-events" in billing
    assert "/api/v1/billing/payouts" in billing
    # A balance is one object; the ledger and the statements behind it are pages of their own.
    assert {"/api/v1/billing/credits/entries", "/api/v1/billing/payouts/balance"} <= set(billing)
    purchase = document["paths"]["/api/v1/billing/credit-packs/{pack_id}/purchase"]["post"]
    assert {p["name"] for p in purchase["parameters"]} == {"pack_id", "idempotency-key"}


def test_billing_runs_the_hourly_safety_net_and_the_monthly_payout_close() -> None:
    jobs.load_tasks()
    crons = {
        task.task.name: task.cron
        for task in queue.periodic_registry.periodic_tasks.values()
        if task.task.name.startswith("studyhall.billing.")
    }
    assert crons == {
        "studyhall.billing.hourly_sweep": "37 * * * *",
        "studyhall.billing.close_payout_month": "15 0 1 * *",
    }
