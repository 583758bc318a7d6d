"""Billing tells the payer: payment_success / payment_failed when a payment changes state, and
credit_low when a debit leaves the balance under the threshold — each in the transaction of the
change, so a refused change notifies nobody."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from tests.billing.conftest import Caller, create_pack, make_admin, sign_up, use_billing


async def _notices(
    owner_db: Database, user_id: uuid.UUID
) -> list[tuple[str, str, dict[str, object]]]:
    """(type, channel, payload) of the user's notifications, in a stable order."""
    async with owner_db.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT type, channel, payload::text FROM notifications WHERE user_id = :u "
                "ORDER BY created_at, type, channel"
            ),
            {"u": user_id},
        )
        # JSONB keeps no key order: compare payloads as objects.
        return [(str(a), str(b), json.loads(c)) for a, b, c in rows.all()]


async def _buy(client: httpx.AsyncClient, student: Caller, pack_id: str) -> str:
    response = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert response.status_code == 201, response.text
    return str(response.json()["payment"]["id"])


async def test_a_payment_that_fails_then_succeeds_tells_the_payer_each_once(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    use_billing(manual_auto_succeed=False)
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=10, price_cents=1500, currency="EGP")
    student = await sign_up(client)
    payment_id = await _buy(client, student, pack_id)
    assert await _notices(owner_db, student.id) == []

    url = f"/api/v1/billing/admin/payments/{payment_id}"
    failed = await client.post(
        f"{url}/mark-failed", json={"note": "card declined"}, headers=admin.headers
    )
    assert failed.status_code == 200, failed.text
    failed_payload: dict[str, object] = {
        "reason": "card declined",
        "currency": "EGP",
        "amount_cents": 1500,
        "description": "10 credits (10 pack)",
    }
    assert await _notices(owner_db, student.id) == [
        ("payment_failed", "email", failed_payload),
        ("payment_failed", "inapp", failed_payload),
    ]
    again = await client.post(f"{url}/mark-failed", json={}, headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (409, "payment_state_conflict")
    assert len(await _notices(owner_db, student.id)) == 2

    paid = await client.post(f"{url}/mark-paid", json={}, headers=admin.headers)
    assert paid.status_code == 200, paid.text
    success_payload: dict[str, object] = {
        "currency": "EGP",
        "amount_cents": 1500,
        "description": "10 credits (10 pack)",
    }
    assert (await _notices(owner_db, student.id))[2:] == [
        ("payment_success", "email", success_payload),
        ("payment_success", "inapp", success_payload),
    ]
    repeat = await client.post(f"{url}/mark-paid", json={}, headers=admin.headers)
    assert repeat.status_code == 409
    assert len(await _notices(owner_db, student.id)) == 4
    # The admin who settled it is not the payer and hears nothing.
    assert await _notices(owner_db, admin.id) == []

    inbox = await client.get("/api/v1/notifications", headers=student.headers)
    assert inbox.status_code == 200, inbox.text
    assert sorted(item["type"] for item in _items(inbox.json())) == [
        "payment_failed",
        "payment_success",
    ]


def _items(body: object) -> list[dict[str, object]]:
    if isinstance(body, dict):
        items = body["items"]
        assert isinstance(items, list)
        return items
    assert isinstance(body, list)
    return body


async def test_credit_low_when_a_debit_leaves_the_balance_under_the_threshold(
    client: httpx.AsyncClient, owner_db: Database
) -> None:
    admin = await make_admin(client, owner_db)
    student = await sign_up(client)

    async def adjust(delta: int, code: int = 201) -> None:
        response = await client.post(
            f"/api/v1/billing/admin/users/{student.id}/credits",
            json={"delta": delta, "note": "test"},
            headers=admin.with_key(),
        )
        assert response.status_code == code, response.text

    async def low() -> list[dict[str, object]]:
        return [p for t, c, p in await _notices(owner_db, student.id) if t == "credit_low"]

    await adjust(5)
    await adjust(-2)  # balance 3: at the threshold (3) is not low
    assert await low() == []
    await adjust(-1)  # balance 2
    expected: dict[str, object] = {"balance": 2, "threshold": 3}
    assert await low() == [expected, expected]
    await adjust(-1)  # balance 1: still low, already told
    await adjust(1)  # balance 2: a top-up that leaves it low is not news
    assert len(await low()) == 2
    await adjust(-100, code=402)  # refused: writes nothing, tells nothing
    assert len(await low()) == 2
    await adjust(5)  # balance 7 re-arms
    await adjust(-6)  # balance 1
    again: dict[str, object] = {"balance": 1, "threshold": 3}
    assert await low() == [expected, expected, again, again]
    assert {t for t, _c, _p in await _notices(owner_db, student.id)} == {"credit_low"}
