"""Every POST that moves money, with an Idempotency-Key: the same key and body replay the stored
answer, the same key with another body is 422, and ten concurrent duplicates have one effect."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from studyhall.db.engine import Database
from tests.billing.conftest import (
    Caller,
    create_pack,
    make_admin,
    scalar,
    sign_up,
    use_billing,
)
from tests.courses.helpers import Actor, course_tree, product

API = "/api/v1"
PRO = {
    "key": "pro",
    "name": "Pro",
    "billing_cycle": "monthly",
    "price_cents": 900,
    "currency": "USD",
    "credits_per_period": 30,
}


async def _storm(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(client.post(url, json=body, headers=headers) for _ in range(10)))
    )


def _one_answer(responses: list[httpx.Response], status: int) -> None:
    """All ten got the same answer; nine of them are replays of the one that did the work."""
    assert Counter(r.status_code for r in responses) == Counter({status: 10})
    assert all(r.content == responses[0].content for r in responses)
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9


async def _paid_pack(client: httpx.AsyncClient, admin: Caller, student: Caller) -> str:
    pack_id = await create_pack(client, admin, credits=100, price_cents=1000)
    bought = await client.post(
        f"{API}/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert bought.status_code == 201, bought.text
    return str(bought.json()["payment"]["id"])


async def test_course_checkout_duplicates_make_one_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, Actor(admin.id, admin.headers))
    paid = await product(client, Actor(admin.id, admin.headers), [tree["course_id"]])
    url = f"{API}/products/{paid['id']}/checkout"
    responses = await _storm(client, url, {}, student.with_key("checkout-storm"))
    _one_answer(responses, 201)
    assert responses[0].json()["payment"]["payment"]["status"] == "succeeded"
    assert await scalar(db, "SELECT count(*) FROM purchases") == 1
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await scalar(db, "SELECT count(*) FROM refunds") == 0


async def test_subscribing_replays_refuses_a_changed_body_and_subscribes_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    plan = await client.post(f"{API}/billing/admin/plans", json=PRO, headers=admin.headers)
    other = await client.post(
        f"{API}/billing/admin/plans", json={**PRO, "key": "max"}, headers=admin.headers
    )
    student = await sign_up(client)
    url = f"{API}/billing/subscriptions"
    headers = student.with_key("subscribe-once")
    responses = await _storm(client, url, {"plan_id": plan.json()["id"]}, headers)
    _one_answer(responses, 201)
    changed = await client.post(url, json={"plan_id": other.json()["id"]}, headers=headers)
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_key_reused")
    assert await scalar(db, "SELECT count(*) FROM subscriptions") == 1
    assert await scalar(db, "SELECT count(*) FROM payments") == 1
    assert await scalar(db, "SELECT count(*) FROM credit_ledger") == 1


async def test_an_admin_refund_replays_refuses_a_changed_body_and_refunds_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    payment_id = await _paid_pack(client, admin, student)
    url = f"{API}/billing/admin/payments/{payment_id}/refunds"
    headers = admin.with_key("refund-once")
    responses = await _storm(client, url, {"amount_cents": 300}, headers)
    _one_answer(responses, 201)
    changed = await client.post(url, json={"amount_cents": 400}, headers=headers)
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_key_reused")
    assert await scalar(db, "SELECT count(*) FROM refunds") == 1
    assert await scalar(db, "SELECT amount_refunded_cents FROM payments") == 300


async def test_marking_a_manual_payment_paid_replays_and_settles_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    use_billing(manual_auto_succeed=False)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    payment_id = await _paid_pack(client, admin, student)
    assert await scalar(db, "SELECT status FROM payments") == "pending"
    url = f"{API}/billing/admin/payments/{payment_id}/mark-paid"
    headers = admin.with_key("mark-once")
    responses = await _storm(client, url, {"note": "cash at the desk"}, headers)
    _one_answer(responses, 200)
    assert responses[0].json()["status"] == "succeeded"
    changed = await client.post(url, json={"note": "bank transfer"}, headers=headers)
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_key_reused")
    # Without a key a repeat is refused by the payment's state instead.
    again = await client.post(url, json={}, headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (409, "payment_state_conflict")
    assert await scalar(db, "SELECT count(*) FROM credit_ledger") == 1
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'payment.succeed'") == 1


async def test_marking_a_manual_payment_failed_replays_and_fails_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    use_billing(manual_auto_succeed=False)
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    payment_id = await _paid_pack(client, admin, student)
    url = f"{API}/billing/admin/payments/{payment_id}/mark-failed"
    responses = await _storm(client, url, {"note": "bounced"}, admin.with_key("fail-once"))
    _one_answer(responses, 200)
    assert responses[0].json()["status"] == "failed"
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'payment.fail'") == 1
    assert await scalar(db, "SELECT count(*) FROM credit_ledger") == 0


async def test_a_course_refund_replays_and_refunds_once(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)
    tree = await course_tree(client, Actor(admin.id, admin.headers))
    paid = await product(client, Actor(admin.id, admin.headers), [tree["course_id"]])
    bought = await client.post(
        f"{API}/products/{paid['id']}/checkout", json={}, headers=student.with_key()
    )
    assert bought.status_code == 201, bought.text
    purchase_id = bought.json()["purchase"]["id"]
    assert await scalar(db, "SELECT status FROM purchases") == "paid"
    url = f"{API}/purchases/{purchase_id}/refund"
    responses = await _storm(client, url, {}, student.with_key("refund-course-once"))
    _one_answer(responses, 200)
    assert (responses[0].json()["id"], responses[0].json()["status"]) == (purchase_id, "refunded")
    assert await scalar(db, "SELECT count(*) FROM refunds") == 1
    assert await scalar(db, "SELECT amount_refunded_cents = amount_cents FROM payments") is True
    assert await scalar(db, "SELECT status FROM payments") == "refunded"
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'refund.request'") == 1
