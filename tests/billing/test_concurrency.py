"""Money under concurrent HTTP clients: one effect per key, refunds never exceed the capture."""

from __future__ import annotations

import asyncio

import httpx

from studyhall.db.engine import Database
from tests.billing.conftest import create_pack, ledger_consistent, make_admin, scalar, sign_up


async def test_the_same_idempotency_key_ten_times_at_once_makes_one_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=40, price_cents=900)
    student = await sign_up(client)
    headers = student.with_key("one-purchase")
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=headers
            )
            for _ in range(10)
        )
    )
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["payment"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await scalar(db, "SELECT count(*) FROM idempotency_keys") == 1
    assert await ledger_consistent(db, student.id) == (40, 40)


async def test_concurrent_refunds_never_exceed_the_captured_amount(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=1000)
    student = await sign_up(client)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    payment_id = bought.json()["payment"]["id"]
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/billing/admin/payments/{payment_id}/refunds",
                json={"amount_cents": 300},
                headers=admin.with_key(),
            )
            for _ in range(10)
        )
    )
    codes = sorted((r.status_code, r.json().get("code")) for r in responses)
    assert codes == [(201, None)] * 3 + [(422, "refund_exceeds_captured")] * 7
    assert await scalar(db, "SELECT amount_refunded_cents FROM payments") == 900
    assert await scalar(db, "SELECT count(*) FROM refunds") == 3
    assert await ledger_consistent(db, student.id) == (10, 10)


async def test_two_concurrent_subscriptions_leave_one_live(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan = await client.post(
        "/api/v1/billing/admin/plans",
        json={"key": "pro", "name": "Pro", "billing_cycle": "monthly", "price_cents": 900,
              "currency": "USD", "credits_per_period": 30},
        headers=admin.headers,
    )  # fmt: skip
    student = await sign_up(client)
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/billing/subscriptions",
                json={"plan_id": plan.json()["id"]},
                headers=student.with_key(),
            )
            for _ in range(6)
        )
    )
    codes = sorted((r.status_code, r.json().get("code")) for r in responses)
    assert codes == [(201, None)] + [(409, "subscription_exists")] * 5
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await ledger_consistent(db, student.id) == (30, 30)
