"""Credit packs bought through the manual provider, refunds, and their effect on the ledger."""

from __future__ import annotations

import uuid

import httpx

from studyhall.db.engine import Database
from tests.billing.conftest import (
    create_pack,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
    use_billing,
)


async def _count(db: Database, table: str) -> int:
    return int(await scalar(db, f"SELECT count(*) FROM {table}") or 0)  # type: ignore[arg-type]


async def test_buying_a_pack_with_the_manual_provider_credits_the_buyer(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=120, price_cents=1500)
    student = await sign_up(client)

    listed = await client.get("/api/v1/billing/credit-packs")
    assert [p["id"] for p in listed.json()["items"]] == [pack_id]

    response = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert response.status_code == 201, response.text
    body = response.json()
    payment = body["payment"]
    assert (payment["status"], payment["type"], payment["purpose"], payment["purpose_id"]) == (
        "succeeded",
        "credit_pack",
        "credit_pack",
        pack_id,
    )
    assert (payment["amount_cents"], payment["currency"], payment["provider"]) == (
        1500,
        "USD",
        "manual",
    )
    balance = (await client.get("/api/v1/billing/credits", headers=student.headers)).json()
    credits = (await client.get("/api/v1/billing/credits/entries", headers=student.headers)).json()
    assert balance["balance"] == 120
    assert [(e["seq"], e["delta"], e["reason"], e["balance_after"]) for e in credits["items"]] == [
        (1, 120, "purchase", 120)
    ]
    assert credits["items"][0]["payment_id"] == payment["id"]
    assert await ledger_consistent(db, student.id) == (120, 120)


async def test_purchase_takes_an_optional_key_and_body_and_needs_an_active_pack(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin)
    student = await sign_up(client)
    url = f"/api/v1/billing/credit-packs/{pack_id}/purchase"

    # Every field is optional: no body and ``{}`` are the same purchase; no key is a new one.
    bare = await client.post(url, headers=student.headers)
    empty = await client.post(url, json={}, headers=student.headers)
    assert (bare.status_code, empty.status_code) == (201, 201), (bare.text, empty.text)
    assert bare.json()["payment"]["id"] != empty.json()["payment"]["id"]
    keyed = student.with_key()
    first = await client.post(url, headers=keyed)
    replay = await client.post(url, json={}, headers=keyed)
    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await _count(db, "payments") == 3

    hidden = await client.patch(
        f"/api/v1/billing/admin/credit-packs/{pack_id}",
        json={"is_active": False},
        headers=admin.headers,
    )
    assert hidden.json()["is_active"] is False
    gone = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert gone.status_code == 404
    assert gone.json()["code"] == "credit_pack_not_found"
    unknown = await client.post(
        f"/api/v1/billing/credit-packs/{uuid.uuid4()}/purchase",
        json={},
        headers=student.with_key(),
    )
    assert unknown.json()["code"] == "credit_pack_not_found"
    assert await _count(db, "payments") == 3
    assert await _count(db, "credit_ledger") == 3


async def test_only_admins_manage_packs_and_bad_prices_are_refused(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    student = await sign_up(client)
    pack = {"name": "x", "credits": 10, "price_cents": 100, "currency": "USD"}
    denied = await client.post(
        "/api/v1/billing/admin/credit-packs", json=pack, headers=student.headers
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "role_required"
    admin = await make_admin(client, owner_db)
    for bad in ({"price_cents": 0}, {"price_cents": -5}, {"currency": "usd"}, {"credits": 0}):
        response = await client.post(
            "/api/v1/billing/admin/credit-packs", json={**pack, **bad}, headers=admin.headers
        )
        assert response.status_code == 422, bad
        assert response.json()["code"] == "validation_failed"
    assert await _count(db, "credit_packs") == 0


async def test_same_key_replays_and_a_different_body_is_refused(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin)
    student = await sign_up(client)
    headers = student.with_key("buy-once")
    url = f"/api/v1/billing/credit-packs/{pack_id}/purchase"
    first = await client.post(url, json={}, headers=headers)
    again = await client.post(url, json={}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(url, json={"provider": "manual"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert await _count(db, "payments") == 1
    assert await ledger_consistent(db, student.id) == (100, 100)


async def test_partial_then_full_refund_takes_back_the_refunded_share(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=1000)
    student = await sign_up(client)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    payment_id = bought.json()["payment"]["id"]
    url = f"/api/v1/billing/admin/payments/{payment_id}/refunds"

    partial = await client.post(url, json={"amount_cents": 250}, headers=admin.with_key())
    assert partial.status_code == 201, partial.text
    assert (partial.json()["status"], partial.json()["amount_cents"]) == ("succeeded", 250)
    payment = (
        await client.get(f"/api/v1/billing/payments/{payment_id}", headers=student.headers)
    ).json()
    assert (payment["status"], payment["amount_refunded_cents"]) == ("succeeded", 250)
    assert await ledger_consistent(db, student.id) == (75, 75)

    too_much = await client.post(url, json={"amount_cents": 751}, headers=admin.with_key())
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "refund_exceeds_captured"
    assert too_much.json()["refundable_cents"] == 750
    mismatch = await client.post(
        url, json={"amount_cents": 10, "currency": "EUR"}, headers=admin.with_key()
    )
    assert mismatch.json()["code"] == "currency_mismatch"
    for bad in (0, -1):
        zero = await client.post(url, json={"amount_cents": bad}, headers=admin.with_key())
        assert (zero.status_code, zero.json()["code"]) == (422, "invalid_amount")
    assert await _count(db, "refunds") == 1

    rest = await client.post(url, json={}, headers=admin.with_key())
    assert rest.json()["amount_cents"] == 750
    payment = (
        await client.get(f"/api/v1/billing/payments/{payment_id}", headers=student.headers)
    ).json()
    assert (payment["status"], payment["amount_refunded_cents"]) == ("refunded", 1000)
    assert await ledger_consistent(db, student.id) == (0, 0)
    again = await client.post(url, json={}, headers=admin.with_key())
    assert (again.status_code, again.json()["code"]) == (409, "already_refunded")
    entries = (await client.get("/api/v1/billing/credits/entries", headers=student.headers)).json()
    assert [(e["delta"], e["reason"]) for e in reversed(entries["items"])] == [
        (100, "purchase"),
        (-25, "refund"),
        (-75, "refund"),
    ]


async def test_a_refund_is_refused_when_the_credits_are_already_spent(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=1000)
    student = await sign_up(client)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    payment_id = bought.json()["payment"]["id"]
    spend = await client.post(
        f"/api/v1/billing/admin/users/{student.id}/credits",
        json={"delta": -60, "note": "used"},
        headers=admin.with_key(),
    )
    assert spend.status_code == 201, spend.text
    refused = await client.post(
        f"/api/v1/billing/admin/payments/{payment_id}/refunds", json={}, headers=admin.with_key()
    )
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["credits_needed"]) == (
        "credits_already_spent",
        100,
    )
    assert await _count(db, "refunds") == 0
    assert await ledger_consistent(db, student.id) == (40, 40)
    students_refund = await client.post(
        f"/api/v1/billing/admin/payments/{payment_id}/refunds",
        json={"amount_cents": 100},
        headers=student.with_key(),
    )
    assert students_refund.status_code == 403
    assert await _count(db, "refunds") == 0
    assert await ledger_consistent(db, student.id) == (40, 40)


async def test_manual_payments_wait_for_an_admin_when_auto_success_is_off(
    client: httpx.AsyncClient, owner_db: Database, db: Database
) -> None:
    use_billing(manual_auto_succeed=False)
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=30)
    student = await sign_up(client)
    first = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    second = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert first.json()["payment"]["status"] == "pending"
    paid_id, failed_id = first.json()["payment"]["id"], second.json()["payment"]["id"]

    denied = await client.post(
        f"/api/v1/billing/admin/payments/{paid_id}/mark-paid", json={}, headers=student.headers
    )
    assert denied.status_code == 403
    assert await ledger_consistent(db, student.id) == (0, 0)

    paid = await client.post(
        f"/api/v1/billing/admin/payments/{paid_id}/mark-paid", json={}, headers=admin.headers
    )
    assert paid.json()["status"] == "succeeded"
    failed = await client.post(
        f"/api/v1/billing/admin/payments/{failed_id}/mark-failed",
        json={"note": "cash never arrived"},
        headers=admin.headers,
    )
    assert (failed.json()["status"], failed.json()["failure_code"]) == ("failed", "marked_failed")
    twice = await client.post(
        f"/api/v1/billing/admin/payments/{paid_id}/mark-failed", json={}, headers=admin.headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "payment_state_conflict")
    assert await ledger_consistent(db, student.id) == (30, 30)
    mine = await client.get("/api/v1/billing/payments", headers=student.headers)
    assert sorted(p["status"] for p in mine.json()["items"]) == ["failed", "succeeded"]
    other = await sign_up(client)
    hidden = await client.get(f"/api/v1/billing/payments/{paid_id}", headers=other.headers)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "payment_not_found")


async def test_the_demo_catalogue_loads_once(owner_db: Database, db: Database) -> None:
    from studyhall.billing import demo

    for _ in range(2):
        async with owner_db.transaction() as session:
            summary = await demo.load(session, None)  # type: ignore[arg-type]
    assert summary == [
        "billing: 0 credit packs added, 3 plans in the catalogue, 0 payout statements"
    ]
    assert await _count(db, "credit_packs") == 3
    assert await _count(db, "plans") == 3
