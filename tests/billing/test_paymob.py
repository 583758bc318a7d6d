"""Paymob (EGP): intentions against a local stand-in, callbacks signed per Paymob's HMAC scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from studyhall.billing.providers.paymob import hmac_message
from studyhall.db.engine import Database
from tests.billing.conftest import (
    HMAC_SECRET,
    OLD_HMAC_SECRET,
    create_pack,
    ledger_consistent,
    make_admin,
    scalar,
    sign_up,
)
from tests.billing.fakes import FakeApi
from tests.conftest import run_jobs

CALLBACK = "/api/v1/billing/webhooks/paymob"

# Paymob's documented sample transaction and the concatenation its docs show for it.
DOC_SAMPLE_MESSAGE = (
    "1000002024-06-13T11:33:44.592345EGPfalsefalse1920364654097558truefalsefalsefalsetruefalse"
    "217503754302852false2346MasterCardcardtrue"
)


def transaction(payment_id: str, order_id: int = 217503754, **changes: Any) -> dict[str, Any]:
    """A transaction of Paymob's order ``order_id``, whose merchant reference is ``payment_id``."""
    obj: dict[str, Any] = {
        "id": 192036465,
        "pending": False,
        "amount_cents": 100000,
        "success": True,
        "is_auth": False,
        "is_capture": False,
        "is_standalone_payment": True,
        "is_voided": False,
        "is_refunded": False,
        "is_3d_secure": True,
        "integration_id": 4097558,
        "has_parent_transaction": False,
        "order": {"id": order_id, "merchant_order_id": payment_id},
        "created_at": "2024-06-13T11:33:44.592345",
        "currency": "EGP",
        "source_data": {"pan": "2346", "type": "card", "sub_type": "MasterCard"},
        "error_occured": False,
        "owner": 302852,
        "refunded_amount_cents": 0,
        "data": {},
    }
    obj.update(changes)
    return obj


def signature(obj: dict[str, Any], secret: str = HMAC_SECRET) -> str:
    # Written out here rather than imported, so the test checks the scheme, not itself.
    fields = [
        obj["amount_cents"], obj["created_at"], obj["currency"], obj["error_occured"],
        obj["has_parent_transaction"], obj["id"], obj["integration_id"], obj["is_3d_secure"],
        obj["is_auth"], obj["is_capture"], obj["is_refunded"], obj["is_standalone_payment"],
        obj["is_voided"], obj["order"]["id"], obj["owner"], obj["pending"],
        obj["source_data"]["pan"], obj["source_data"]["sub_type"], obj["source_data"]["type"],
        obj["success"],
    ]  # fmt: skip
    text = "".join(str(v).lower() if isinstance(v, bool) else str(v) for v in fields)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


async def order_of(db: Database, payment_id: str) -> int:
    """Paymob's order for our payment, as the checkout stored it (callbacks name this order)."""
    found = await scalar(
        db, "SELECT provider_checkout_id FROM payments WHERE id = :id", id=uuid.UUID(payment_id)
    )
    return int(str(found))


async def callback(
    client: httpx.AsyncClient, obj: dict[str, Any], hmac_value: str | None = None
) -> httpx.Response:
    return await client.post(
        CALLBACK,
        params={"hmac": hmac_value or signature(obj)},
        content=json.dumps({"type": "TRANSACTION", "obj": obj}),
        headers={"Content-Type": "application/json"},
    )


def test_the_hmac_message_matches_paymobs_documented_example() -> None:
    assert hmac_message(transaction("x")) == DOC_SAMPLE_MESSAGE


async def test_paymob_checkout_then_a_signed_callback_credits_the_buyer(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=80, price_cents=100000, currency="EGP")
    student = await sign_up(client)
    response = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    assert response.status_code == 201, response.text
    body = response.json()
    payment_id = body["payment"]["id"]
    assert body["payment_key"] == "egy_csk_pi_paymob_0001"
    assert body["checkout_url"] == (
        f"{fake_paymob.url}/unifiedcheckout/?publicKey=egy_pk_test"
        "&clientSecret=egy_csk_pi_paymob_0001"
    )
    [call] = fake_paymob.posts("/v1/intention/")
    assert call.authorization == "Token egy_sk_test"
    assert (call.params["amount"], call.params["currency"]) == (100000, "EGP")
    assert call.params["special_reference"] == payment_id
    assert call.params["payment_methods"] == [4097558]

    obj = transaction(payment_id, await order_of(db, payment_id))
    first = await callback(client, obj)
    assert first.json() == {"received": True, "duplicate": False, "event_id": "192036465"}
    again = await callback(client, obj)
    assert again.json()["duplicate"] is True
    await run_jobs()
    row = (
        await client.get(f"/api/v1/billing/payments/{payment_id}", headers=student.headers)
    ).json()
    assert (row["status"], row["provider_payment_id"]) == ("succeeded", "192036465")
    assert await ledger_consistent(db, student.id) == (80, 80)


async def test_bad_hmacs_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, db: Database, fake_paymob: FakeApi
) -> None:
    obj = transaction(str(uuid.uuid4()))
    wrong = await callback(client, obj, signature(obj, "not-the-secret"))
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_signature")
    tampered = dict(obj, amount_cents=1)
    assert (await callback(client, tampered, signature(obj))).status_code == 400
    missing = await client.post(CALLBACK, content=json.dumps({"type": "TRANSACTION", "obj": obj}))
    assert missing.status_code == 400
    not_json = await client.post(CALLBACK, params={"hmac": "00"}, content=b"{oops")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_signature")
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 0
    rotated = await callback(client, obj, signature(obj, OLD_HMAC_SECRET))
    assert rotated.status_code == 200
    assert await scalar(db, "SELECT count(*) FROM webhook_events") == 1


async def test_refunds_in_both_directions(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=100, price_cents=100000, currency="EGP")
    student = await sign_up(client)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    payment_id = bought.json()["payment"]["id"]
    order_id = await order_of(db, payment_id)
    await callback(client, transaction(payment_id, order_id))
    await run_jobs()

    ours = await client.post(
        f"/api/v1/billing/admin/payments/{payment_id}/refunds",
        json={"amount_cents": 20000},
        headers=admin.with_key(),
    )
    assert ours.json()["status"] == "pending"
    await run_jobs()
    [call] = fake_paymob.posts("/api/acceptance/void_refund/refund")
    assert call.params == {"transaction_id": "192036465", "amount_cents": 20000}
    assert await ledger_consistent(db, student.id) == (80, 80)

    # A refund made in Paymob's dashboard arrives as the original transaction, now refunded.
    theirs = transaction(payment_id, order_id, is_refunded=True, refunded_amount_cents=50000)
    assert (await callback(client, theirs)).json()["event_id"] == "192036465:refunded:50000"
    await run_jobs()
    row = (
        await client.get(f"/api/v1/billing/payments/{payment_id}", headers=student.headers)
    ).json()
    assert (row["status"], row["amount_refunded_cents"]) == ("succeeded", 50000)
    reasons = await scalar(
        db, "SELECT string_agg(reason || ':' || amount_cents, ',' ORDER BY created_at) FROM refunds"
    )
    assert reasons == "admin:20000,provider:30000"
    assert await ledger_consistent(db, student.id) == (50, 50)


async def test_a_declined_transaction_fails_the_payment(
    client: httpx.AsyncClient, owner_db: Database, db: Database, fake_paymob: FakeApi
) -> None:
    admin = await make_admin(client, owner_db)
    pack_id = await create_pack(client, admin, credits=5, price_cents=500, currency="EGP")
    student = await sign_up(client)
    bought = await client.post(
        f"/api/v1/billing/credit-packs/{pack_id}/purchase", json={}, headers=student.with_key()
    )
    payment_id = bought.json()["payment"]["id"]
    declined = transaction(
        payment_id,
        await order_of(db, payment_id),
        id=555,
        success=False,
        data={"txn_response_code": "DECLINED", "message": "no"},
    )
    await callback(client, declined)
    await run_jobs()
    row = (
        await client.get(f"/api/v1/billing/payments/{payment_id}", headers=student.headers)
    ).json()
    assert (row["status"], row["failure_code"], row["failure_message"]) == (
        "failed",
        "DECLINED",
        "no",
    )
    assert await ledger_consistent(db, student.id) == (0, 0)
